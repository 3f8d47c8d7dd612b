package kwire.interop;

import java.nio.ByteBuffer;

final class Hex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {}

    static String of(byte[] b) {
        if (b == null) return "null";
        return of(b, 0, b.length);
    }

    static String of(byte[] b, int off, int len) {
        StringBuilder sb = new StringBuilder(len * 2);
        for (int i = off; i < off + len; i++) {
            sb.append(DIGITS[(b[i] >> 4) & 0xf]).append(DIGITS[b[i] & 0xf]);
        }
        return sb.toString();
    }

    /** Hex of the remaining bytes of a buffer (position unchanged), "null" for null. */
    static String of(ByteBuffer buf) {
        if (buf == null) return "null";
        ByteBuffer d = buf.duplicate();
        byte[] b = new byte[d.remaining()];
        d.get(b);
        return of(b);
    }
}
