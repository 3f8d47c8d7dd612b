package kwire.interop;

import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.Readable;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/** messages-write, messages-verify and messages-selftest. */
final class Messages {
    private static final PrintStream OUT = System.out;

    /** One message at one version. jar: the classpath jar's definition; repo: the repo's file for the set. */
    record Case(String name, int version, Schema jar, Schema repo) {
        String label() {
            return name + " v" + version;
        }

        String fileName() {
            return name + ".v" + version + ".bin";
        }
    }

    private final Path schemaDir;
    private final String set;
    private final Set<String> only;
    final List<Case> cases = new ArrayList<>();
    final List<String> skipped = new ArrayList<>();

    Messages(Path schemaDir, String set, Set<String> only) throws IOException {
        this.schemaDir = schemaDir;
        this.set = set;
        this.only = only;
        collect();
    }

    private static List<Path> jsonFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException("not a directory: " + dir);
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        }
    }

    private static String baseName(Path p) {
        String f = p.getFileName().toString();
        return f.substring(0, f.length() - ".json".length());
    }

    private void collect() throws IOException {
        if (set.equals("primary")) {
            for (Path p : jsonFiles(schemaDir)) {
                String name = baseName(p);
                if (!only.isEmpty() && !only.contains(name)) continue;
                var jarJson = Json.loadResource(name);
                if (jarJson == null) {
                    skipped.add(name);
                    continue;
                }
                Schema jar = new Schema(jarJson);
                Schema repo = new Schema(Json.load(p));
                for (int v = jar.validVersions.lo(); v <= jar.validVersions.hi(); v++) cases.add(new Case(name, v, jar, repo));
            }
        } else if (set.startsWith("legacy-")) {
            Path dir = schemaDir.resolve("legacy").resolve(set.substring("legacy-".length()));
            for (Path p : jsonFiles(dir)) {
                String name = baseName(p);
                if (!only.isEmpty() && !only.contains(name)) continue;
                var jarJson = Json.loadResource(name);
                if (jarJson == null) {
                    skipped.add(name);
                    continue;
                }
                Schema jar = new Schema(jarJson);
                Schema repo = new Schema(Json.load(p));
                Path primaryFile = schemaDir.resolve(name + ".json");
                int primaryMin = Short.MAX_VALUE + 1;
                if (Files.exists(primaryFile)) primaryMin = new Schema(Json.load(primaryFile)).validVersions.lo();
                Versions vs = jar.validVersions.intersect(repo.validVersions).intersect(new Versions(0, primaryMin - 1));
                for (int v = vs.lo(); v <= vs.hi(); v++) cases.add(new Case(name, v, jar, repo));
            }
        } else {
            throw new IllegalArgumentException("unknown --set " + set + " (primary, legacy-3.9.2, legacy-4.0.0)");
        }
    }

    void printHeader(String mode) {
        OUT.println("# " + mode + ": kafka-clients " + Main.kafkaVersion() + ", set " + set + ", " + cases.size() + " cases");
        for (String s : skipped) OUT.println("SKIP " + s + ": not in the kafka-clients jar on the classpath");
    }

    /** NOTE lines where the jar's definition fills differently from the repo's file for the set. */
    private void note(Case c) {
        if (!c.repo().validVersions.contains(c.version())) return;
        List<String> a = Filler.wireListing(c.jar(), c.version());
        List<String> b = Filler.wireListing(c.repo(), c.version());
        if (a.equals(b)) return;
        int i = 0;
        while (i < a.size() && i < b.size() && a.get(i).equals(b.get(i))) i++;
        // the named listings run parallel to the wire listings (minus the leading "flexible=" line)
        List<String> na = Filler.listing(c.jar(), c.version());
        List<String> nb = Filler.listing(c.repo(), c.version());
        String ja = i == 0 ? a.get(0) : i - 1 < na.size() ? na.get(i - 1) : "(end)";
        String rb = i == 0 ? b.get(0) : i - 1 < nb.size() ? nb.get(i - 1) : "(end)";
        OUT.println("NOTE " + c.label() + ": the jar's definition fills differently from the repo's: jar `" + ja + "` vs repo `" + rb + "`");
    }

    // ---- Java encode / decode ------------------------------------------------------------

    static Class<?> messageClass(Schema s) {
        Class<?> c = Refl.cls(s.javaClassName());
        if (c == null) c = Refl.cls("org.apache.kafka.common.message." + s.name + "Data");
        if (c == null) c = Refl.cls("org.apache.kafka.common.message." + s.name);
        if (c == null) throw new IllegalStateException("no Java class for " + s.name + " (" + s.javaClassName() + ")");
        return c;
    }

    static byte[] encode(Object msg, int version) {
        Message m = (Message) msg;
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = m.size(cache, (short) version);
        ByteBuffer buf = ByteBuffer.allocate(size);
        m.write(new ByteBufferAccessor(buf), cache, (short) version);
        if (buf.hasRemaining()) throw new IllegalStateException("size() said " + size + " but write() wrote " + buf.position());
        return buf.array();
    }

    /** Decoded object and the count of bytes left unread. */
    record Decoded(Object msg, int remaining) {}

    static Decoded decode(Class<?> cls, byte[] bytes, int version) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        try {
            Constructor<?> ctor = cls.getConstructor(Readable.class, short.class);
            Object o = ctor.newInstance(new ByteBufferAccessor(buf), (short) version);
            return new Decoded(o, buf.remaining());
        } catch (InvocationTargetException e) {
            Throwable t = e.getCause();
            if (t instanceof RuntimeException re) throw re;
            throw new RuntimeException(t);
        } catch (ReflectiveOperationException e) {
            throw new RuntimeException(e);
        }
    }

    static String firstByteDifference(byte[] actual, byte[] expected) {
        int n = Math.min(actual.length, expected.length);
        int i = 0;
        while (i < n && actual[i] == expected[i]) i++;
        StringBuilder sb = new StringBuilder();
        sb.append("bytes differ from Java's encoding (kwire ").append(actual.length).append(" bytes, Java ").append(expected.length).append(")");
        if (i < n) {
            sb.append(", first at offset ").append(i).append(": kwire ").append(Hex.of(actual, i, Math.min(8, actual.length - i)))
                .append(" Java ").append(Hex.of(expected, i, Math.min(8, expected.length - i)));
        } else {
            sb.append(", one is a prefix of the other");
        }
        return sb.toString();
    }

    private Object fill(Case c) {
        return Filler.fill(c.jar(), c.version(), messageClass(c.jar()));
    }

    // ---- modes ----------------------------------------------------------------------------

    int write(Path out, boolean values) throws IOException {
        printHeader("messages-write");
        Files.createDirectories(out);
        int ok = 0;
        int failed = 0;
        for (Case c : cases) {
            note(c);
            byte[] bytes;
            try {
                bytes = encode(fill(c), c.version());
            } catch (RuntimeException | LinkageError e) {
                OUT.println("FAIL " + c.label() + ": Java cannot fill/encode: " + Refl.describe(e));
                failed++;
                continue;
            }
            Files.write(out.resolve(c.fileName()), bytes);
            if (values) {
                String text = String.join("\n", Filler.listing(c.jar(), c.version())) + "\n";
                Files.writeString(out.resolve(c.name() + ".v" + c.version() + ".txt"), text, StandardCharsets.UTF_8);
            }
            ok++;
        }
        OUT.println("messages-write: " + ok + " written, " + failed + " failed (" + out + ")");
        return failed == 0 ? 0 : 1;
    }

    int verify(Path in) {
        printHeader("messages-verify");
        int passed = 0;
        int failed = 0;
        int missing = 0;
        for (Case c : cases) {
            note(c);
            Path file = in.resolve(c.fileName());
            if (!Files.exists(file)) {
                OUT.println("MISSING " + c.label() + ": " + file);
                missing++;
                continue;
            }
            String reason = verifyOne(c, file);
            if (reason == null) {
                OUT.println("PASS " + c.label());
                passed++;
            } else {
                OUT.println("FAIL " + c.label() + ": " + reason);
                failed++;
            }
        }
        if (missing > 0) OUT.println("# " + missing + " missing (counted as failed)");
        OUT.println("messages: " + passed + " passed, " + (failed + missing) + " failed");
        return failed + missing == 0 && !cases.isEmpty() ? 0 : 1;
    }

    private String verifyOne(Case c, Path file) {
        Class<?> cls;
        Object expected;
        byte[] javaBytes;
        try {
            cls = messageClass(c.jar());
            expected = fill(c);
            javaBytes = encode(expected, c.version());
        } catch (RuntimeException | LinkageError e) {
            return "Java cannot fill/encode: " + Refl.describe(e);
        }
        byte[] kwire;
        try {
            kwire = Files.readAllBytes(file);
        } catch (IOException e) {
            return "cannot read " + file + ": " + e;
        }
        List<String> reasons = new ArrayList<>();
        try {
            Decoded d = decode(cls, kwire, c.version());
            if (d.remaining() != 0) reasons.add(d.remaining() + " of " + kwire.length + " bytes left unread by Java's decoder");
            if (!expected.equals(d.msg())) {
                List<String> diffs = Diff.compare(c.jar(), c.version(), expected, d.msg());
                reasons.add("decoded value differs: " + (diffs.isEmpty() ? "equals() is false (no field difference found)" : String.join("; ", diffs)));
            } else {
                List<String> diffs = Diff.compare(c.jar(), c.version(), expected, d.msg());
                if (!diffs.isEmpty()) reasons.add("decoded value differs: " + String.join("; ", diffs));
            }
        } catch (RuntimeException | LinkageError e) {
            reasons.add("Java cannot decode kwire's bytes: " + Refl.describe(e));
        }
        if (!Arrays.equals(kwire, javaBytes)) reasons.add(firstByteDifference(kwire, javaBytes));
        return reasons.isEmpty() ? null : String.join(" | ", reasons);
    }

    int selftest() {
        printHeader("messages-selftest");
        int passed = 0;
        int failed = 0;
        for (Case c : cases) {
            note(c);
            String reason;
            try {
                reason = selftestOne(c);
            } catch (RuntimeException | LinkageError e) {
                reason = "Java cannot fill/encode/decode: " + Refl.describe(e);
            }
            if (reason == null) {
                passed++;
                OUT.println("PASS " + c.label());
            } else {
                failed++;
                OUT.println("FAIL " + c.label() + ": " + reason);
            }
        }
        OUT.println("selftest: " + passed + " passed, " + failed + " failed");
        return failed == 0 && !cases.isEmpty() ? 0 : 1;
    }

    private String selftestOne(Case c) {
        Class<?> cls = messageClass(c.jar());
        Object filled = fill(c);
        byte[] bytes = encode(filled, c.version());
        Decoded d = decode(cls, bytes, c.version());
        List<String> reasons = new ArrayList<>();
        if (d.remaining() != 0) reasons.add(d.remaining() + " bytes left unread");
        if (!filled.equals(d.msg())) reasons.add("decoded != filled (equals)");
        List<String> diffs = Diff.compare(c.jar(), c.version(), filled, d.msg());
        if (!diffs.isEmpty()) reasons.add("field differences: " + String.join("; ", diffs));
        byte[] again = encode(d.msg(), c.version());
        if (!Arrays.equals(bytes, again)) reasons.add("re-encoding the decoded object differs: " + firstByteDifference(again, bytes));
        byte[] second = encode(fill(c), c.version());
        if (!Arrays.equals(bytes, second)) reasons.add("fill is not deterministic");
        // Every filled field must have taken a value (the fill never leaves a present field at its default
        // unless the Java default coincides): check that the filled object differs from a fresh one.
        if (c.jar().fields().size() > 0 && hasPresentField(c) && Refl.newInstance(cls).equals(filled)) {
            reasons.add("filled object equals a default one");
        }
        return reasons.isEmpty() ? null : String.join(" | ", reasons);
    }

    private static boolean hasPresentField(Case c) {
        for (var f : c.jar().fields()) if (Schema.versions(f).contains(c.version())) return true;
        return false;
    }

    static Set<String> parseOnly(String s) {
        Set<String> out = new TreeSet<>();
        if (s != null) for (String p : s.split(",")) if (!p.isBlank()) out.add(p.trim());
        return out;
    }
}
