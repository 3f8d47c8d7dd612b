package kwire.interop;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * assignors --in FILE
 *
 * <p>Runs the Java client's RangeAssignor, RoundRobinAssignor and CooperativeStickyAssignor on
 * scenarios written by kwire (tests/interop/xcheck_assignors.cpp), one per line:
 * <pre>
 * ID|ASSIGNOR|TOPIC:COUNT,...|MEMBER;MEMBER;...
 * MEMBER = ID/INSTANCE_ID or -/GENERATION/TOPIC,... or -/TOPIC:PARTITION,... or -
 * </pre>
 * and prints one line per scenario: {@code ID MEMBER=TOPIC:PARTITION,... ...}, members and
 * partitions sorted, or {@code ID ERROR message} when the assignor throws. A new assignor
 * instance serves each scenario (AbstractStickyAssignor remembers the highest generation).
 *
 * <p>consumer-protocol --in FILE
 *
 * <p>Lines {@code ID|sub|VERSION|TOPICS|USERDATA_HEX|OWNED|GENERATION|RACK} or
 * {@code ID|asg|VERSION|PARTITIONS|USERDATA_HEX} (- for empty/absent); prints
 * {@code ID HEX} of ConsumerProtocol.serializeSubscription / serializeAssignment.
 */
final class Assignors {
    private Assignors() {}

    static int run(Path in) throws Exception {
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.US_ASCII), 1 << 16);
        int scenarios = 0;
        int errors = 0;
        try (BufferedReader reader = Files.newBufferedReader(in, StandardCharsets.US_ASCII)) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isEmpty()) continue;
                String[] f = line.split("\\|", -1);
                if (f.length != 4) throw new IllegalArgumentException("bad scenario line: " + line);
                String result;
                try {
                    result = assign(f[1], f[2], f[3]);
                } catch (RuntimeException e) {
                    errors++;
                    result = "ERROR " + e.getClass().getSimpleName() + ": " + e.getMessage();
                }
                out.write(f[0] + " " + result);
                out.newLine();
                scenarios++;
            }
        }
        out.flush();
        System.err.println("assignors: kafka-clients " + Main.kafkaVersion() + ", " + scenarios + " scenarios, "
            + errors + " threw");
        return 0;
    }

    private static ConsumerPartitionAssignor assignor(String name) {
        switch (name) {
            case "range": return new RangeAssignor();
            case "roundrobin": return new RoundRobinAssignor();
            case "cooperative-sticky": return new CooperativeStickyAssignor();
            default: throw new IllegalArgumentException("unknown assignor " + name);
        }
    }

    private static List<String> list(String field) {
        if (field.equals("-") || field.isEmpty()) return new ArrayList<>();
        return new ArrayList<>(Arrays.asList(field.split(",")));
    }

    private static List<TopicPartition> partitions(String field) {
        List<TopicPartition> tps = new ArrayList<>();
        for (String item : list(field)) {
            int colon = item.lastIndexOf(':');
            tps.add(new TopicPartition(item.substring(0, colon), Integer.parseInt(item.substring(colon + 1))));
        }
        return tps;
    }

    private static ByteBuffer userData(String hex) {
        return hex.equals("-") ? null : ByteBuffer.wrap(Partitions.fromHex(hex));
    }

    private static String assign(String assignorName, String topicsField, String membersField) {
        Node node = new Node(0, "localhost", 9092);
        Node[] replicas = {node};
        List<PartitionInfo> infos = new ArrayList<>();
        for (String item : list(topicsField)) {
            int colon = item.lastIndexOf(':');
            String topic = item.substring(0, colon);
            int count = Integer.parseInt(item.substring(colon + 1));
            for (int p = 0; p < count; p++) infos.add(new PartitionInfo(topic, p, node, replicas, replicas));
        }
        Cluster cluster = new Cluster("kwire", Collections.singletonList(node), infos,
            Collections.emptySet(), Collections.emptySet());

        // As the Java leader builds it (ConsumerCoordinator.onLeaderElected): a HashMap.
        Map<String, Subscription> subscriptions = new HashMap<>();
        if (!membersField.isEmpty()) {
            for (String memberField : membersField.split(";", -1)) {
                String[] m = memberField.split("/", -1);
                if (m.length != 5) throw new IllegalArgumentException("bad member: " + memberField);
                Subscription subscription = new Subscription(list(m[3]), null, partitions(m[4]),
                    Integer.parseInt(m[2]), Optional.empty());
                subscription.setGroupInstanceId(m[1].equals("-") ? Optional.empty() : Optional.of(m[1]));
                subscriptions.put(m[0], subscription);
            }
        }
        Map<String, Assignment> result = assignor(assignorName)
            .assign(cluster, new GroupSubscription(subscriptions)).groupAssignment();
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Assignment> e : new TreeMap<>(result).entrySet()) {
            List<TopicPartition> tps = new ArrayList<>(e.getValue().partitions());
            tps.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
            if (sb.length() > 0) sb.append(' ');
            sb.append(e.getKey()).append('=');
            for (int i = 0; i < tps.size(); i++) {
                if (i > 0) sb.append(',');
                sb.append(tps.get(i).topic()).append(':').append(tps.get(i).partition());
            }
        }
        return sb.toString();
    }

    static int consumerProtocol(Path in) throws Exception {
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.US_ASCII), 1 << 16);
        try (BufferedReader reader = Files.newBufferedReader(in, StandardCharsets.US_ASCII)) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isEmpty()) continue;
                String[] f = line.split("\\|", -1);
                short version = Short.parseShort(f[2]);
                ByteBuffer bytes;
                if (f[1].equals("sub") && f.length == 8) {
                    Subscription s = new Subscription(list(f[3]), userData(f[4]), partitions(f[5]),
                        Integer.parseInt(f[6]), f[7].equals("-") ? Optional.empty() : Optional.of(f[7]));
                    bytes = ConsumerProtocol.serializeSubscription(s, version);
                } else if (f[1].equals("asg") && f.length == 5) {
                    bytes = ConsumerProtocol.serializeAssignment(new Assignment(partitions(f[3]), userData(f[4])), version);
                } else {
                    throw new IllegalArgumentException("bad consumer-protocol line: " + line);
                }
                byte[] b = new byte[bytes.remaining()];
                bytes.get(b);
                out.write(f[0] + " " + Hex.of(b));
                out.newLine();
            }
        }
        out.flush();
        return 0;
    }
}
