package kwire.interop;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.common.Uuid;

import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The deterministic fill shared with the C++ side (see tests/interop/README.md).
 *
 * Walks the message definition for one version, numbering every present field with a
 * running counter, and (when a Java class is given) builds the generated Java object through
 * its setters. It always records a textual listing "path type value" of what it filled,
 * which is used to compare two definitions of the same message and to help debugging.
 */
final class Filler {
    private final Schema schema;
    private final int version;
    private final boolean build;
    private final Class<?> topClass;
    private long counter = 1;
    final List<String> listing = new ArrayList<>();

    private Filler(Schema schema, int version, Class<?> topClass) {
        this.schema = schema;
        this.version = version;
        this.topClass = topClass;
        this.build = topClass != null;
    }

    /** Builds the filled Java object of class topClass. */
    static Object fill(Schema schema, int version, Class<?> topClass) {
        Filler f = new Filler(schema, version, topClass);
        return f.fillStruct("", topClass, schema.fields());
    }

    /** The listing only (no Java classes involved). */
    static List<String> listing(Schema schema, int version) {
        Filler f = new Filler(schema, version, null);
        f.fillStruct("", null, schema.fields());
        return f.listing;
    }

    /**
     * The listing without field names (renames do not change the wire form), with tags:
     * equal listings mean equal encodings of the fill.
     */
    static List<String> wireListing(Schema schema, int version) {
        Filler f = new Filler(schema, version, null);
        f.wireOnly = true;
        f.listing.add("flexible=" + Versions.parse(schema.root.path("flexibleVersions").asText(null)).contains(version));
        f.fillStruct("", null, schema.fields());
        return f.listing;
    }

    private boolean wireOnly;

    private String label(String p, JsonNode f) {
        if (!wireOnly) return p;
        JsonNode tag = f.get("tag");
        boolean tagged = tag != null && Versions.parse(f.path("taggedVersions").asText(null)).contains(version);
        return tagged ? "tag=" + tag.asText() : "-";
    }

    private String typeLabel(String type) {
        if (!wireOnly || Schema.isPrimitive(Schema.elementType(type))) return type;
        return Schema.isArray(type) ? "[]struct" : "struct";
    }

    private Class<?> structClass(String structName) {
        String n = topClass.getName() + "$" + structName;
        Class<?> c = Refl.cls(n);
        if (c == null) throw new IllegalStateException("no Java class " + n);
        return c;
    }

    private Object fillStruct(String path, Class<?> cls, JsonNode fields) {
        Object obj = build ? Refl.newInstance(cls) : null;
        for (JsonNode f : fields) {
            if (!Schema.versions(f).contains(version)) continue;
            long n = counter++;
            String name = f.path("name").asText();
            String type = f.path("type").asText();
            String p = path.isEmpty() ? name : path + "." + name;
            Method setter = build ? Refl.method(cls, Refl.setterName(name), 1) : null;
            Class<?> pt = build ? setter.getParameterTypes()[0] : null;
            Object value;
            if (Schema.isArray(type)) {
                String et = Schema.elementType(type);
                if (Schema.isPrimitive(et)) {
                    long c1 = counter++;
                    long c2 = counter++;
                    Object v1 = prim(et, c1, null);
                    Object v2 = prim(et, c2, null);
                    listing.add(label(p, f) + " " + type + " [" + show(v1) + ", " + show(v2) + "]");
                    List<Object> list = new ArrayList<>();
                    list.add(javaValue(et, v1, boxed(et)));
                    list.add(javaValue(et, v2, boxed(et)));
                    value = list;
                } else {
                    listing.add(label(p, f) + " " + typeLabel(type) + " count=2");
                    Class<?> ec = build ? structClass(et) : null;
                    JsonNode sf = schema.structFields(f, et);
                    Collection<Object> coll = null;
                    if (build) {
                        coll = newCollection(pt);
                    }
                    for (int i = 0; i < 2; i++) {
                        Object e = fillStruct(p + "[" + i + "]", ec, sf);
                        if (build && !coll.add(e)) {
                            throw new IllegalStateException(p + ": " + pt.getSimpleName() + ".add() rejected element " + i);
                        }
                    }
                    value = coll;
                }
            } else if (!Schema.isPrimitive(type)) {
                listing.add(label(p, f) + " " + typeLabel(type) + " struct");
                value = fillStruct(p, build ? structClass(type) : null, schema.structFields(f, type));
            } else {
                Object v = prim(type, n, f.get("default"));
                listing.add(label(p, f) + " " + type + " " + show(v));
                value = build ? javaValue(type, v, pt) : null;
            }
            if (build) {
                Object ret = Refl.invoke(setter, obj, value);
                if (ret != obj && ret != null && setter.getReturnType() != void.class) {
                    throw new IllegalStateException(p + ": setter did not return this");
                }
            }
        }
        return obj;
    }

    @SuppressWarnings("unchecked")
    private static Collection<Object> newCollection(Class<?> pt) {
        if (pt.isInterface() || pt.isAssignableFrom(ArrayList.class)) return new ArrayList<>();
        return (Collection<Object>) Refl.newInstance(pt);
    }

    private static Class<?> boxed(String et) {
        switch (et) {
            case "bool": return Boolean.class;
            case "int8": return Byte.class;
            case "int16": return Short.class;
            case "uint16": case "int32": return Integer.class;
            case "int64": return Long.class;
            case "float64": return Double.class;
            case "string": return String.class;
            case "uuid": return Uuid.class;
            case "bytes": return byte[].class;
            default: return Object.class;
        }
    }

    // ---- the primitive values -------------------------------------------------------------

    /** Canonical value: Boolean, Long (all integer types), Double, String, byte[] (bytes, records, uuid). */
    static Object prim(String type, long n, JsonNode dflt) {
        switch (type) {
            case "bool": {
                boolean defTrue = dflt != null && dflt.asText().trim().equals("true");
                return !defTrue;
            }
            case "int8": return bump(1 + n % 100, dflt);
            case "int16": return bump(1 + (n * 37) % 30000, dflt);
            case "uint16": return bump(1 + (n * 37) % 60000, dflt);
            case "int32": return bump(1 + (n * 100003) % 2000000000L, dflt);
            case "int64": return bump(1 + n * 1000000007L, dflt);
            case "float64": {
                double d = n + 0.5;
                Double def = parseDouble(dflt);
                if (def != null && def == d) d += 1;
                return d;
            }
            case "string": return "s" + n;
            case "bytes": case "records":
                return new byte[] {(byte) (n % 256), (byte) ((n + 1) % 256), (byte) ((n + 2) % 256)};
            case "uuid": {
                byte[] b = new byte[16];
                for (int i = 0; i < 16; i++) b[i] = (byte) ((n * 7 + i) % 256);
                return new UuidBytes(b);
            }
            default:
                throw new IllegalStateException("unknown primitive type " + type);
        }
    }

    /** Marker so a uuid's canonical form is distinguishable from bytes. */
    record UuidBytes(byte[] b) {
        long msb() { return ByteBuffer.wrap(b).getLong(0); }
        long lsb() { return ByteBuffer.wrap(b).getLong(8); }
    }

    private static long bump(long v, JsonNode dflt) {
        Long def = parseLong(dflt);
        return def != null && def == v ? v + 1 : v;
    }

    static Long parseLong(JsonNode dflt) {
        if (dflt == null || dflt.isNull()) return null;
        String s = dflt.asText().trim();
        boolean neg = false;
        if (s.startsWith("-")) {
            neg = true;
            s = s.substring(1);
        }
        try {
            long v;
            if (s.startsWith("0x") || s.startsWith("0X")) v = Long.parseLong(s.substring(2), 16);
            else v = Long.parseLong(s);
            return neg ? -v : v;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Double parseDouble(JsonNode dflt) {
        if (dflt == null || dflt.isNull()) return null;
        try {
            return Double.parseDouble(dflt.asText().trim());
        } catch (NumberFormatException e) {
            Long l = parseLong(dflt);
            return l == null ? null : l.doubleValue();
        }
    }

    /** Canonical value to the Java type a setter (or list) wants. */
    static Object javaValue(String type, Object v, Class<?> pt) {
        switch (type) {
            case "bool": return v;
            case "int8": return (byte) (long) (Long) v;
            case "int16": return (short) (long) (Long) v;
            case "uint16": case "int32": return (int) (long) (Long) v;
            case "int64": return v;
            case "float64": return v;
            case "string": return v;
            case "uuid": {
                UuidBytes u = (UuidBytes) v;
                return new Uuid(u.msb(), u.lsb());
            }
            case "bytes":
                if (pt != null && ByteBuffer.class.isAssignableFrom(pt)) return ByteBuffer.wrap((byte[]) v);
                return v;
            case "records":
                return Rec.readableRecords(ByteBuffer.wrap((byte[]) v));
            default:
                throw new IllegalStateException("unknown primitive type " + type);
        }
    }

    static String show(Object v) {
        if (v instanceof byte[] b) return "0x" + Hex.of(b);
        if (v instanceof UuidBytes u) return "uuid:" + Hex.of(u.b());
        if (v instanceof String s) return "\"" + s + "\"";
        return String.valueOf(v);
    }
}
