package kwire.interop;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * kwire interop harness: cross-checks kwire's encoders/decoders against kafka-clients.
 *
 * <pre>
 * messages-write    --schema-dir DIR --out DIR --set primary|legacy-3.9.2|legacy-4.0.0 [--only A,B] [--values]
 * messages-verify   --schema-dir DIR --in DIR  --set ... [--only A,B]
 * messages-selftest --schema-dir DIR --set ... [--only A,B]
 * batches-write     --out DIR
 * batches-dump      FILE
 * partition-keys    --in FILE --partitions N[,N...]
 * assignors         --in FILE
 * consumer-protocol --in FILE
 * version
 * </pre>
 */
public final class Main {
    private Main() {}

    static String kafkaVersion() {
        try (java.io.InputStream in = Main.class.getClassLoader().getResourceAsStream("kafka/kafka-version.properties")) {
            if (in == null) return "unknown";
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private static void usage() {
        System.err.println("usage:\n"
            + "  messages-write    --schema-dir DIR --out DIR --set primary|legacy-3.9.2|legacy-4.0.0 [--only Name,...] [--values]\n"
            + "  messages-verify   --schema-dir DIR --in DIR --set primary|legacy-3.9.2|legacy-4.0.0 [--only Name,...]\n"
            + "  messages-selftest --schema-dir DIR --set primary|legacy-3.9.2|legacy-4.0.0 [--only Name,...]\n"
            + "  batches-write     --out DIR\n"
            + "  batches-dump      FILE\n"
            + "  partition-keys    --in FILE --partitions N[,N...]\n"
            + "  assignors         --in FILE\n"
            + "  consumer-protocol --in FILE\n"
            + "  version");
    }

    private static Map<String, String> options(String[] args, int from) {
        Map<String, String> m = new HashMap<>();
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument " + a);
            if (a.equals("--values")) {
                m.put(a, "true");
                continue;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
            m.put(a, args[++i]);
        }
        return m;
    }

    private static String need(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) throw new IllegalArgumentException("missing " + key);
        return v;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
            System.exit(2);
        }
        int rc;
        try {
            rc = run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            usage();
            rc = 2;
        }
        System.out.flush();
        System.exit(rc);
    }

    static int run(String[] args) throws Exception {
        String mode = args[0];
        switch (mode) {
            case "messages-write": {
                Map<String, String> o = options(args, 1);
                Messages m = new Messages(Path.of(need(o, "--schema-dir")), need(o, "--set"), Messages.parseOnly(o.get("--only")));
                return m.write(Path.of(need(o, "--out")), o.containsKey("--values"));
            }
            case "messages-verify": {
                Map<String, String> o = options(args, 1);
                Messages m = new Messages(Path.of(need(o, "--schema-dir")), need(o, "--set"), Messages.parseOnly(o.get("--only")));
                return m.verify(Path.of(need(o, "--in")));
            }
            case "messages-selftest": {
                Map<String, String> o = options(args, 1);
                Messages m = new Messages(Path.of(need(o, "--schema-dir")), need(o, "--set"), Messages.parseOnly(o.get("--only")));
                return m.selftest();
            }
            case "batches-write": {
                Map<String, String> o = options(args, 1);
                return Batches.write(Path.of(need(o, "--out")));
            }
            case "batches-dump": {
                if (args.length != 2) throw new IllegalArgumentException("batches-dump FILE");
                return Batches.dumpFile(Path.of(args[1]));
            }
            case "partition-keys": {
                Map<String, String> o = options(args, 1);
                return Partitions.run(Path.of(need(o, "--in")), need(o, "--partitions"));
            }
            case "assignors": {
                Map<String, String> o = options(args, 1);
                return Assignors.run(Path.of(need(o, "--in")));
            }
            case "consumer-protocol": {
                Map<String, String> o = options(args, 1);
                return Assignors.consumerProtocol(Path.of(need(o, "--in")));
            }
            case "version":
                System.out.println("kafka-clients " + kafkaVersion());
                return 0;
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
    }
}
