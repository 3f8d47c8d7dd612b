package kwire.interop;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.protocol.Message;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/** Field-by-field comparison of two generated message objects, guided by the definition. */
final class Diff {
    private static final int MAX = 6;
    private final Schema schema;
    private final int version;
    final List<String> diffs = new ArrayList<>();

    private Diff(Schema schema, int version) {
        this.schema = schema;
        this.version = version;
    }

    /** Differences "path: expected X, got Y" (at most a few), empty if none found. */
    static List<String> compare(Schema schema, int version, Object expected, Object actual) {
        Diff d = new Diff(schema, version);
        d.struct("", schema.fields(), expected, actual);
        return d.diffs;
    }

    private void add(String s) {
        if (diffs.size() < MAX) diffs.add(s);
    }

    private void struct(String path, JsonNode fields, Object a, Object b) {
        if (diffs.size() >= MAX) return;
        if (a == null || b == null) {
            if (a != b) add(where(path) + "expected " + (a == null ? "null" : "a struct") + ", got " + (b == null ? "null" : "a struct"));
            return;
        }
        if (b instanceof Message m && m.unknownTaggedFields() != null && !m.unknownTaggedFields().isEmpty()) {
            List<Integer> tags = new ArrayList<>();
            m.unknownTaggedFields().forEach(t -> tags.add(t.tag()));
            add(where(path) + "unknown tagged fields " + tags);
        }
        for (JsonNode f : fields) {
            if (!Schema.versions(f).contains(version)) continue;
            String name = f.path("name").asText();
            String type = f.path("type").asText();
            String p = path.isEmpty() ? name : path + "." + name;
            String getter = Refl.javaName(name);
            Object va = Refl.call(a, getter);
            Object vb = Refl.call(b, getter);
            if (Schema.isArray(type) && !Schema.isPrimitive(Schema.elementType(type))) {
                if (va == null || vb == null) {
                    if (va != vb) add(p + ": expected " + (va == null ? "null" : "array") + ", got " + (vb == null ? "null" : "array"));
                    continue;
                }
                Collection<?> ca = (Collection<?>) va;
                Collection<?> cb = (Collection<?>) vb;
                if (ca.size() != cb.size()) {
                    add(p + ": expected " + ca.size() + " elements, got " + cb.size());
                    continue;
                }
                JsonNode sf = schema.structFields(f, Schema.elementType(type));
                Iterator<?> ia = ca.iterator();
                Iterator<?> ib = cb.iterator();
                for (int i = 0; ia.hasNext(); i++) struct(p + "[" + i + "]", sf, ia.next(), ib.next());
            } else if (!Schema.isArray(type) && !Schema.isPrimitive(type)) {
                struct(p, schema.structFields(f, type), va, vb);
            } else if (!same(va, vb)) {
                add(p + ": expected " + show(va) + ", got " + show(vb));
            }
        }
    }

    private static String where(String path) {
        return path.isEmpty() ? "" : path + ": ";
    }

    static boolean same(Object a, Object b) {
        if (a instanceof byte[] x && b instanceof byte[] y) return Arrays.equals(x, y);
        if (Rec.isRecords(a) || Rec.isRecords(b)) return Arrays.equals(Rec.bytesOf(a), Rec.bytesOf(b));
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!same(x.get(i), y.get(i))) return false;
            return true;
        }
        return Objects.equals(a, b);
    }

    static String show(Object v) {
        if (v == null) return "null";
        if (v instanceof byte[] b) return "0x" + Hex.of(b);
        if (v instanceof ByteBuffer b) return "0x" + Hex.of(b);
        if (v instanceof String s) return "\"" + s + "\"";
        if (v instanceof Uuid u) return "uuid:" + String.format("%016x%016x", u.getMostSignificantBits(), u.getLeastSignificantBits());
        if (Rec.isRecords(v)) return "records:0x" + Hex.of(Rec.bytesOf(v));
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            for (Object o : l) parts.add(show(o));
            return parts.toString();
        }
        return String.valueOf(v);
    }
}
