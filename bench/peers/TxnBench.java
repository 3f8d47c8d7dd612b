// TxnBench: `kwire-bench produce --txn-records N` on the Java client (kafka-clients), so that
// bench/compare.sh's transactions scenarios compare the three clients doing the same work
// (Kafka's ProducerPerformance only has time-based transactions and no commit latency).
//
//   java -cp 'KAFKA_LIBS/*:CLASSES' TxnBench produce -b B -t T -n RECORDS -s SIZE
//       --txn-records N --payload-file FILE [-X prop=value]... [--timeout SECS]
//
// initTransactions() and the topic's metadata come before the clock; then beginTransaction(),
// N sends, commitTransaction() (timed: from the call to its return), until RECORDS records
// went. Record i's value is line i mod COUNT of FILE (`rdkafka-bench payload -n COUNT -s SIZE`,
// bench/peers/payload.hpp); keys are null. The last stdout line is the JSON object of
// bench/peers/bench_common.hpp's result_json, with cpu_s this JVM's CPU time (compare.sh
// replaces it, and max_rss_kb, by /usr/bin/time's figures, as for the other Java runs). Exit 0
// when every record was committed, 1 if not, 2 on a usage error.
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class TxnBench {
  // One record in 16 has its send -> acknowledgement latency measured, as in kwire-bench.
  private static final int LATENCY_EVERY = 16;

  private String bootstrap;
  private String topic;
  private long records;
  private int size;
  private long txnRecords;
  private Path payloadFile;
  private double timeoutS = 600;
  private final Properties props = new Properties();

  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private volatile String firstError;
  private long[] latencyNs; // written by the producer's I/O thread, read after close()
  private long[] commitNs;
  private long transactions;
  private long committed;

  public static void main(String[] argv) {
    TxnBench b = new TxnBench();
    String usage = b.parse(argv);
    if (usage != null) {
      System.err.println("TxnBench: " + usage);
      System.err.println("usage: TxnBench produce -b BOOTSTRAP -t TOPIC -n RECORDS -s SIZE"
          + " --txn-records N --payload-file FILE [-X prop=value]... [--timeout SECS]");
      System.exit(2);
    }
    System.exit(b.run());
  }

  // Fills the fields from ARGV; the usage error, or null.
  private String parse(String[] argv) {
    if (argv.length < 1 || !argv[0].equals("produce")) return "the only mode is produce";
    try {
      for (int i = 1; i < argv.length; i += 2) {
        if (i + 1 >= argv.length) return "option " + argv[i] + " needs a value";
        String v = argv[i + 1];
        switch (argv[i]) {
          case "-b" -> bootstrap = v;
          case "-t" -> topic = v;
          case "-n" -> records = Long.parseLong(v);
          case "-s" -> size = Integer.parseInt(v);
          case "--txn-records" -> txnRecords = Long.parseLong(v);
          case "--payload-file" -> payloadFile = Path.of(v);
          case "--timeout" -> timeoutS = Double.parseDouble(v);
          case "-X" -> {
            int eq = v.indexOf('=');
            if (eq <= 0) return "-X needs prop=value, got '" + v + "'";
            props.setProperty(v.substring(0, eq), v.substring(eq + 1));
          }
          default -> {
            return "unknown option '" + argv[i] + "'";
          }
        }
      }
    } catch (NumberFormatException e) {
      return "not a number: " + e.getMessage();
    }
    if (bootstrap == null || topic == null || payloadFile == null) return "-b, -t, --payload-file are required";
    if (records <= 0 || size <= 0 || txnRecords <= 0) return "-n, -s, --txn-records need positive numbers";
    return null;
  }

  // The payload file's lines, each SIZE bytes.
  private List<byte[]> payloads() throws IOException {
    List<byte[]> out = new ArrayList<>();
    for (String line : Files.readAllLines(payloadFile, StandardCharsets.US_ASCII)) {
      if (line.length() != size) throw new IOException("a line of " + line.length() + " bytes in " + payloadFile + ", not " + size);
      out.add(line.getBytes(StandardCharsets.US_ASCII));
    }
    if (out.isEmpty()) throw new IOException(payloadFile + " is empty");
    return out;
  }

  private int run() {
    List<byte[]> values;
    try {
      values = payloads();
    } catch (IOException e) {
      System.err.println("TxnBench: " + e.getMessage());
      return 2;
    }
    props.setProperty("bootstrap.servers", bootstrap);
    props.putIfAbsent("transactional.id", "TxnBench-" + ProcessHandle.current().pid() + "-" + System.currentTimeMillis() / 1000);
    latencyNs = new long[(int) ((records + LATENCY_EVERY - 1) / LATENCY_EVERY)];
    commitNs = new long[(int) ((records + txnRecords - 1) / txnRecords)];
    long start, end;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      producer.partitionsFor(topic);
      producer.initTransactions();
      System.err.printf("TxnBench: produce %d x %d B to %s at %s, transactions of %d%n", records, size, topic, bootstrap, txnRecords);
      start = System.nanoTime();
      end = sendInTransactions(producer, values, start + (long) (timeoutS * 1e9));
    }
    if (failed.get() > 0) System.err.printf("TxnBench: %d records failed, the first with: %s%n", failed.get(), firstError);
    System.out.println(resultJson(start, end));
    return committed == records ? 0 : 1;
  }

  // begin, send a transaction's records, commit (timed), until every record went, something
  // failed, or DEADLINE passed; returns when the last commit completed.
  private long sendInTransactions(KafkaProducer<byte[], byte[]> producer, List<byte[]> values, long deadline) {
    long end = System.nanoTime();
    for (long from = 0; from < records && System.nanoTime() < deadline; from += txnRecords) {
      long to = Math.min(records, from + txnRecords);
      try {
        producer.beginTransaction();
        for (long i = from; i < to; ++i) send(producer, values.get((int) (i % values.size())), i);
        long t0 = System.nanoTime();
        producer.commitTransaction();
        end = System.nanoTime();
        commitNs[(int) transactions++] = end - t0;
        committed += to - from;
      } catch (RuntimeException e) {
        System.err.println("TxnBench: transaction " + transactions + " failed: " + e);
        try {
          producer.abortTransaction();
        } catch (RuntimeException ignored) {
          // a fatal error: the producer is done
        }
        break;
      }
    }
    return end;
  }

  private void send(KafkaProducer<byte[], byte[]> producer, byte[] value, long i) {
    final boolean timed = i % LATENCY_EVERY == 0;
    final long sent = timed ? System.nanoTime() : 0;
    producer.send(new ProducerRecord<>(topic, value), (metadata, error) -> {
      if (error != null) {
        if (failed.getAndIncrement() == 0) firstError = error.toString();
        return;
      }
      if (timed) latencyNs[(int) (i / LATENCY_EVERY)] = System.nanoTime() - sent;
      delivered.incrementAndGet();
    });
  }

  // The Q-quantile of the first N values of NS in milliseconds (the ceil(Q N)-th smallest);
  // -1 when there are none.
  private static double percentileMs(long[] ns, int n, double q) {
    if (n == 0) return -1;
    long[] v = Arrays.copyOf(ns, n);
    Arrays.sort(v);
    int rank = Math.max(1, (int) Math.ceil(q * n));
    return v[rank - 1] / 1e6;
  }

  private static double meanMs(long[] ns, int n) {
    return n == 0 ? -1 : Arrays.stream(ns, 0, n).average().orElse(0) / 1e6;
  }

  private String resultJson(long start, long end) {
    double secs = Math.max((end - start) / 1e9, 1e-9);
    int timed = (int) Math.min(latencyNs.length, (committed + LATENCY_EVERY - 1) / LATENCY_EVERY);
    int txns = (int) transactions;
    double cpuS = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    return String.format(Locale.ROOT,
        "{\"client\":\"java\",\"topic\":\"%s\",\"mode\":\"produce\",\"msgs\":%d,\"failed\":%d,\"bytes\":%d,"
            + "\"record_size\":%d,\"rate\":0,\"secs\":%.3f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"cpu_s\":%.3f,"
            + "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,\"max_rss_kb\":-1,"
            + "\"txn_records\":%d,\"transactions\":%d,\"commit_p50_ms\":%.3f,\"commit_p99_ms\":%.3f,\"commit_max_ms\":%.3f}",
        topic, committed, records - committed, committed * size, size, secs, committed / secs,
        committed * size / secs / (1024.0 * 1024.0), cpuS, percentileMs(latencyNs, timed, 0.50),
        percentileMs(latencyNs, timed, 0.99), percentileMs(latencyNs, timed, 0.999),
        percentileMs(latencyNs, timed, 1.0), meanMs(latencyNs, timed), txnRecords, transactions,
        percentileMs(commitNs, txns, 0.50), percentileMs(commitNs, txns, 0.99), percentileMs(commitNs, txns, 1.0));
  }
}
