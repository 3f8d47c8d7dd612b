package kwire.interop;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * partition-keys --in FILE --partitions N[,N...]
 *
 * <p>FILE has one key per line in lowercase hex (an empty line is the empty key). For each key,
 * prints one line: the Java client's {@code Utils.murmur2(key)}, then for each N the partition
 * {@code BuiltInPartitioner.partitionForKey(key, N)} (the producer's own keyed choice), space
 * separated. Both are reached by reflection, so one compiled harness runs on every jar. The
 * partition is also computed as {@code Utils.toPositive(Utils.murmur2(key)) % N}; a key where
 * the two disagree fails the run (exit 1), which would mean the producer changed its formula.
 */
final class Partitions {
    private static final String BUILT_IN_PARTITIONER =
        "org.apache.kafka.clients.producer.internals.BuiltInPartitioner";
    private static final String UTILS = "org.apache.kafka.common.utils.Utils";

    private Partitions() {}

    static int run(Path in, String partitionCounts) throws Exception {
        int[] counts = Arrays.stream(partitionCounts.split(",")).mapToInt(Integer::parseInt).toArray();
        for (int n : counts) {
            if (n <= 0) throw new IllegalArgumentException("partition counts must be positive: " + partitionCounts);
        }
        Method murmur2 = staticMethod(UTILS, "murmur2", byte[].class);
        Method toPositive = staticMethod(UTILS, "toPositive", int.class);
        Method partitionForKey = staticMethod(BUILT_IN_PARTITIONER, "partitionForKey", byte[].class, int.class);

        int keys = 0;
        int disagreements = 0;
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.US_ASCII), 1 << 16);
        try (BufferedReader reader = Files.newBufferedReader(in, StandardCharsets.US_ASCII)) {
            String line;
            while ((line = reader.readLine()) != null) {
                byte[] key = fromHex(line.trim());
                int hash = (Integer) invoke(murmur2, key);
                int positive = (Integer) invoke(toPositive, hash);
                StringBuilder sb = new StringBuilder().append(hash);
                for (int n : counts) {
                    int partition = (Integer) invoke(partitionForKey, key, n);
                    if (partition != positive % n) {
                        disagreements++;
                        System.err.println("DISAGREE key=" + line + " n=" + n + " partitionForKey=" + partition
                            + " toPositive(murmur2)%n=" + (positive % n));
                    }
                    sb.append(' ').append(partition);
                }
                out.write(sb.toString());
                out.newLine();
                keys++;
            }
        }
        out.flush();
        System.err.println("partition-keys: kafka-clients " + Main.kafkaVersion() + ", " + keys + " keys x "
            + counts.length + " partition counts, " + disagreements + " disagreements between"
            + " BuiltInPartitioner.partitionForKey and Utils.toPositive(Utils.murmur2)");
        return disagreements == 0 ? 0 : 1;
    }

    private static Method staticMethod(String className, String name, Class<?>... params) {
        Class<?> cls = Refl.cls(className);
        if (cls == null) throw new IllegalStateException("class not on the classpath: " + className);
        try {
            Method m = cls.getDeclaredMethod(name, params);
            m.setAccessible(true);
            return m;
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("no " + className + "." + name + " with those parameters", e);
        }
    }

    private static Object invoke(Method m, Object... args) throws Exception {
        try {
            return m.invoke(null, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) throw (Exception) cause;
            throw e;
        }
    }

    static byte[] fromHex(String hex) {
        if (hex.length() % 2 != 0) throw new IllegalArgumentException("odd-length hex key: " + hex);
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = Character.digit(hex.charAt(2 * i), 16);
            int lo = Character.digit(hex.charAt(2 * i + 1), 16);
            if (hi < 0 || lo < 0) throw new IllegalArgumentException("not hex: " + hex);
            b[i] = (byte) ((hi << 4) | lo);
        }
        return b;
    }
}
