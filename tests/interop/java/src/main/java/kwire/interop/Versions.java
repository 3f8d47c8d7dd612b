package kwire.interop;

/** A version range as written in the message definitions: "N+", "N-M", "N" or "none". */
record Versions(int lo, int hi) {
    static final Versions NONE = new Versions(0, -1);

    static Versions parse(String s) {
        if (s == null) return NONE;
        s = s.trim();
        if (s.isEmpty() || s.equals("none")) return NONE;
        if (s.endsWith("+")) return new Versions(Integer.parseInt(s.substring(0, s.length() - 1).trim()), Short.MAX_VALUE);
        int dash = s.indexOf('-');
        if (dash > 0) {
            return new Versions(Integer.parseInt(s.substring(0, dash).trim()), Integer.parseInt(s.substring(dash + 1).trim()));
        }
        int v = Integer.parseInt(s);
        return new Versions(v, v);
    }

    boolean contains(int v) {
        return v >= lo && v <= hi;
    }

    boolean isEmpty() {
        return hi < lo;
    }

    Versions intersect(Versions o) {
        return new Versions(Math.max(lo, o.lo), Math.min(hi, o.hi));
    }
}
