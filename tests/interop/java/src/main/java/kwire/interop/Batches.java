package kwire.interop;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** batches-write and batches-dump: record batches (magic v2) built and read by the Java client. */
final class Batches {
    static final long BASE_TS = 1700000000000L;
    static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};

    private Batches() {}

    // ---- building -----------------------------------------------------------------------

    /** One record to append: offset, timestamp, key, value, headers (value may be null). */
    record Rec1(long offset, long timestamp, byte[] key, byte[] value, Header[] headers) {}

    static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    static Header h(String key, byte[] value) {
        return new RecordHeader(key, value);
    }

    static Compression compression(String codec) {
        return Compression.of(codec).build();
    }

    /** Builds one batch with MemoryRecords.builder and returns its bytes. */
    static byte[] build(String codec, TimestampType tsType, long baseOffset, long logAppendTime, long producerId,
                        short producerEpoch, int baseSequence, boolean transactional, int leaderEpoch, List<Rec1> records) {
        Class<?> mr = Rec.cls("MemoryRecords");
        Method builderM = Rec.staticMethod(mr, "builder", ByteBuffer.class, byte.class, Compression.class, TimestampType.class,
            long.class, long.class, long.class, short.class, int.class, boolean.class, int.class);
        Object builder = Refl.invoke(builderM, null, ByteBuffer.allocate(1 << 16), (byte) 2, compression(codec), tsType,
            baseOffset, logAppendTime, producerId, producerEpoch, baseSequence, transactional, leaderEpoch);
        Method append = Rec.staticMethod(builder.getClass(), "appendWithOffset", long.class, long.class, byte[].class, byte[].class, Header[].class);
        for (Rec1 r : records) Refl.invoke(append, builder, r.offset(), r.timestamp(), r.key(), r.value(), r.headers());
        Object built = Refl.call(builder, "build");
        return Rec.bytesOf(built);
    }

    static byte[] endTxnMarker(boolean commit, long offset, long timestamp, int leaderEpoch, long producerId, short producerEpoch,
                               int coordinatorEpoch) {
        Class<?> crt = Rec.cls("ControlRecordType");
        Object type = enumValue(crt, commit ? "COMMIT" : "ABORT");
        Class<?> etm = Rec.cls("EndTransactionMarker");
        Object marker;
        try {
            marker = etm.getConstructor(crt, int.class).newInstance(type, coordinatorEpoch);
        } catch (ReflectiveOperationException e) {
            throw new RuntimeException(e);
        }
        Method m = Rec.staticMethod(Rec.cls("MemoryRecords"), "withEndTransactionMarker", long.class, long.class, int.class, long.class,
            short.class, etm);
        return Rec.bytesOf(Refl.invoke(m, null, offset, timestamp, leaderEpoch, producerId, producerEpoch, marker));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumValue(Class<?> cls, String name) {
        return Enum.valueOf((Class) cls, name);
    }

    static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) b[i] = (byte) ((seed + i * 7) % 256);
        return b;
    }

    static List<Rec1> basicRecords(long base) {
        List<Rec1> rs = new ArrayList<>();
        Header[] none = new Header[0];
        rs.add(new Rec1(base, BASE_TS, utf8("key-0"), utf8("value-0"), new Header[] {h("h1", utf8("v1"))}));
        rs.add(new Rec1(base + 1, BASE_TS + 5, null, utf8("value-1 without key"), none));
        rs.add(new Rec1(base + 2, BASE_TS - 3, utf8("key-2"), null,
            new Header[] {h("empty", new byte[0]), h("null-value", null)}));
        // offset gap (as after compaction), an empty value, a non-ASCII header key
        rs.add(new Rec1(base + 4, BASE_TS + 100, utf8("key-3"), new byte[0],
            new Header[] {h("ключ", new byte[] {0, (byte) 0xff}), h("h", utf8("x"))}));
        // an empty key and a value long enough for 2-byte varints
        rs.add(new Rec1(base + 5, BASE_TS + 7, new byte[0], pattern(300, 5), none));
        return rs;
    }

    static List<Rec1> simpleRecords(long base, int count, String prefix) {
        List<Rec1> rs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            rs.add(new Rec1(base + i, BASE_TS + 10 * i, utf8(prefix + "-k" + i), utf8(prefix + "-v" + i), new Header[0]));
        }
        return rs;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** Scenario name to file bytes, in a fixed order. */
    static Map<String, byte[]> scenarios() {
        Map<String, byte[]> s = new LinkedHashMap<>();
        final long noPid = -1L;
        final short noEpoch = -1;
        final int noSeq = -1;
        for (String codec : CODECS) {
            s.put("basic-" + codec, build(codec, TimestampType.CREATE_TIME, 1000, -1, noPid, noEpoch, noSeq, false, 7, basicRecords(1000)));
        }
        long pid = 123456789012L;
        short epoch = 3;
        s.put("txn", build("none", TimestampType.CREATE_TIME, 50, -1, pid, epoch, 41, true, 7, simpleRecords(50, 3, "txn")));
        s.put("txn-zstd", build("zstd", TimestampType.CREATE_TIME, 60, -1, pid, epoch, 44, true, 7, simpleRecords(60, 4, "txz")));
        s.put("idempotent-gzip", build("gzip", TimestampType.CREATE_TIME, 70, -1, pid + 1, (short) 0, 0, false, 2,
            simpleRecords(70, 2, "idem")));
        s.put("control-commit", endTxnMarker(true, 53, BASE_TS + 1000, 7, pid, epoch, 11));
        s.put("control-abort", endTxnMarker(false, 64, BASE_TS + 2000, 7, pid, epoch, 12));
        s.put("two-batches", concat(
            build("none", TimestampType.CREATE_TIME, 0, -1, noPid, noEpoch, noSeq, false, 0, simpleRecords(0, 2, "a")),
            build("snappy", TimestampType.CREATE_TIME, 2, -1, noPid, noEpoch, noSeq, false, 8, simpleRecords(2, 3, "b"))));
        s.put("append-time", build("none", TimestampType.LOG_APPEND_TIME, 500, BASE_TS + 99999, noPid, noEpoch, noSeq, false, 1,
            simpleRecords(500, 2, "lat")));
        List<Rec1> large = new ArrayList<>();
        for (int i = 0; i < 1000; i++) large.add(new Rec1(i, BASE_TS + i, null, pattern(100, i), new Header[0]));
        s.put("large-lz4", build("lz4", TimestampType.CREATE_TIME, 0, -1, noPid, noEpoch, noSeq, false, 0, large));
        return s;
    }

    static int write(Path out) throws IOException {
        Files.createDirectories(out);
        int n = 0;
        int failed = 0;
        for (Map.Entry<String, byte[]> e : scenarios().entrySet()) {
            Path bin = out.resolve("batch-" + e.getKey() + ".bin");
            Files.write(bin, e.getValue());
            try {
                List<String> lines = dump(e.getValue());
                Files.writeString(out.resolve("batch-" + e.getKey() + ".dump"), String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
                n++;
            } catch (RuntimeException ex) {
                System.out.println("FAIL batch-" + e.getKey() + ": Java cannot read its own batch: " + Refl.describe(ex));
                failed++;
            }
        }
        System.out.println("batches-write: " + n + " written, " + failed + " failed (" + out + ")");
        return failed == 0 ? 0 : 1;
    }

    // ---- reading ------------------------------------------------------------------------

    static String hexOrNull(ByteBuffer b) {
        return b == null ? "null" : Hex.of(b);
    }

    static String tsType(Object t) {
        String n = String.valueOf(t);
        if (t instanceof TimestampType tt) {
            switch (tt) {
                case CREATE_TIME: return "create";
                case LOG_APPEND_TIME: return "append";
                default: return "none";
            }
        }
        return n;
    }

    /** Java's reading of concatenated batches in the canonical dump format; throws if invalid. */
    static List<String> dump(byte[] data) {
        Class<?> batchI = Rec.cls("RecordBatch");
        Class<?> recordI = Rec.cls("Record");
        Class<?> drb = Rec.cls("DefaultRecordBatch");
        Object records = Rec.readableRecords(ByteBuffer.wrap(data));
        Iterable<?> batches = (Iterable<?>) Refl.call(records, "batches");
        List<String> lines = new ArrayList<>();
        long consumed = 0;
        int index = 0;
        for (Object b : batches) {
            try {
                Refl.invoke(method(batchI, "ensureValid"), b);
            } catch (RuntimeException e) {
                throw new IllegalStateException("batch " + index + " at byte " + consumed + " invalid: " + Refl.describe(e), e);
            }
            long baseOffset = (Long) Refl.invoke(method(batchI, "baseOffset"), b);
            long lastOffset = (Long) Refl.invoke(method(batchI, "lastOffset"), b);
            long baseTimestamp = drb.isInstance(b)
                ? (Long) Refl.invoke(method(drb, "baseTimestamp"), b)
                : ByteBuffer.wrap(data).getLong((int) consumed + 27);
            Object compression = Refl.invoke(method(batchI, "compressionType"), b);
            StringBuilder sb = new StringBuilder("batch");
            sb.append(" base_offset=").append(baseOffset);
            sb.append(" partition_leader_epoch=").append(Refl.invoke(method(batchI, "partitionLeaderEpoch"), b));
            sb.append(" magic=").append(Refl.invoke(method(batchI, "magic"), b));
            sb.append(" compression=").append(((Enum<?>) compression).name().toLowerCase());
            sb.append(" timestamp_type=").append(tsType(Refl.invoke(method(batchI, "timestampType"), b)));
            sb.append(" transactional=").append(Refl.invoke(method(batchI, "isTransactional"), b));
            sb.append(" control=").append(Refl.invoke(method(batchI, "isControlBatch"), b));
            sb.append(" last_offset_delta=").append(lastOffset - baseOffset);
            sb.append(" base_timestamp=").append(baseTimestamp);
            sb.append(" max_timestamp=").append(Refl.invoke(method(batchI, "maxTimestamp"), b));
            sb.append(" producer_id=").append(Refl.invoke(method(batchI, "producerId"), b));
            sb.append(" producer_epoch=").append(Refl.invoke(method(batchI, "producerEpoch"), b));
            sb.append(" base_sequence=").append(Refl.invoke(method(batchI, "baseSequence"), b));
            Object count = Refl.invoke(method(batchI, "countOrNull"), b);
            sb.append(" count=").append(count == null ? "null" : count);
            lines.add(sb.toString());
            int seen = 0;
            try {
                for (Object r : (Iterable<?>) b) {
                    StringBuilder rl = new StringBuilder("record");
                    rl.append(" offset=").append(Refl.invoke(method(recordI, "offset"), r));
                    rl.append(" timestamp=").append(Refl.invoke(method(recordI, "timestamp"), r));
                    rl.append(" key=").append(hexOrNull((ByteBuffer) Refl.invoke(method(recordI, "key"), r)));
                    rl.append(" value=").append(hexOrNull((ByteBuffer) Refl.invoke(method(recordI, "value"), r)));
                    Object headers = Refl.invoke(method(recordI, "headers"), r);
                    int hn = Array.getLength(headers);
                    rl.append(" headers=").append(hn);
                    for (int i = 0; i < hn; i++) {
                        Header hd = (Header) Array.get(headers, i);
                        rl.append(' ').append(Hex.of(hd.key().getBytes(StandardCharsets.UTF_8))).append(':')
                            .append(hd.value() == null ? "null" : Hex.of(hd.value()));
                    }
                    lines.add(rl.toString());
                    seen++;
                }
            } catch (RuntimeException e) {
                throw new IllegalStateException("batch " + index + " at byte " + consumed + ": records unreadable: " + Refl.describe(e), e);
            }
            if (count != null && seen != (Integer) count) {
                throw new IllegalStateException("batch " + index + ": count=" + count + " but " + seen + " records read");
            }
            consumed += (Integer) Refl.invoke(method(batchI, "sizeInBytes"), b);
            index++;
        }
        if (consumed != data.length) {
            throw new IllegalStateException((data.length - consumed) + " trailing bytes after " + index + " complete batch(es)");
        }
        return lines;
    }

    private static Method method(Class<?> cls, String name) {
        return Refl.method(cls, name, 0);
    }

    static int dumpFile(Path file) throws IOException {
        byte[] data = Files.readAllBytes(file);
        List<String> lines;
        try {
            lines = dump(data);
        } catch (RuntimeException e) {
            System.err.println("INVALID " + file + ": " + Refl.describe(e));
            return 1;
        }
        StringBuilder sb = new StringBuilder();
        for (String l : lines) sb.append(l).append('\n');
        System.out.print(sb);
        return 0;
    }
}
