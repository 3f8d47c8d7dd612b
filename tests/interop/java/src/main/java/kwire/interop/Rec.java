package kwire.interop;

import java.lang.reflect.Method;
import java.nio.ByteBuffer;

/**
 * The record classes by reflection: kafka-clients 4.4 moved them from
 * org.apache.kafka.common.record to org.apache.kafka.common.record.internal.
 */
final class Rec {
    private Rec() {}

    static Class<?> cls(String simpleName) {
        Class<?> c = Refl.cls("org.apache.kafka.common.record.internal." + simpleName);
        if (c == null) c = Refl.cls("org.apache.kafka.common.record." + simpleName);
        if (c == null) throw new IllegalStateException("record class " + simpleName + " not found on the classpath");
        return c;
    }

    static Method staticMethod(Class<?> cls, String name, Class<?>... params) {
        try {
            return cls.getMethod(name, params);
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("no method " + cls.getName() + "." + name, e);
        }
    }

    /** MemoryRecords.readableRecords(buffer). */
    static Object readableRecords(ByteBuffer buffer) {
        Class<?> mr = cls("MemoryRecords");
        return Refl.invoke(staticMethod(mr, "readableRecords", ByteBuffer.class), null, buffer);
    }

    /** The bytes of a MemoryRecords (or any records object exposing buffer()). */
    static byte[] bytesOf(Object records) {
        if (records == null) return null;
        try {
            Method m = records.getClass().getMethod("buffer");
            ByteBuffer b = ((ByteBuffer) m.invoke(records)).duplicate();
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    static boolean isRecords(Object o) {
        if (o == null) return false;
        for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
            for (Class<?> i : c.getInterfaces()) {
                if (i.getSimpleName().equals("BaseRecords") || i.getSimpleName().equals("Records")) return true;
            }
            if (c.getSimpleName().equals("AbstractRecords")) return true;
        }
        return false;
    }
}
