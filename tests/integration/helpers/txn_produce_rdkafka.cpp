// kwire-test-txn-produce: writes interleaved committed and aborted transactions with
// librdkafka's transactional API, for the read_committed integration test
// (cli_read_committed.sh); built only when librdkafka is found.
//
//   kwire-test-txn-produce BOOTSTRAP TOPIC PARTITIONS ROUNDS
//
// Two transactional producers (transactional.id TOPIC-a and TOPIC-b) and one that is not
// transactional. Each round both begin a transaction, then, for every partition, the three
// take turns writing a record (each flushed before the next, so that their batches
// interleave in the log); then `a` commits unless round % 3 == 1 and `b` commits in odd
// rounds, each aborting otherwise (6 rounds: one of each, both, neither). Last, `a` writes one
// record to every partition in a transaction it leaves open (the coordinator aborts it after
// transaction.timeout.ms): read_committed stops before it. Every record's value says what a reader
// must make of it:
//   c-...  committed (or of no transaction)   a-...  aborted   o-...  left open
// and standard output lists "PARTITION VALUE" for every record written, in order.
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

[[noreturn]] static void die(const char* what, const char* why) {
  fprintf(stderr, "kwire-test-txn-produce: %s: %s\n", what, why);
  exit(1);
}

static void check(const char* what, rd_kafka_error_t* error) {
  if (!error) return;
  fprintf(stderr, "kwire-test-txn-produce: %s: %s\n", what, rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  exit(1);
}

static rd_kafka_t* make_producer(const char* bootstrap, const char* transactional_id) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
      rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err) ||
      (transactional_id &&
       (rd_kafka_conf_set(conf, "transactional.id", transactional_id, err, sizeof err) ||
        rd_kafka_conf_set(conf, "transaction.timeout.ms", "60000", err, sizeof err))))
    die("configuration", err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) die("rd_kafka_new", err);
  if (transactional_id) check("init_transactions", rd_kafka_init_transactions(rk, 60000));
  return rk;
}

/* Writes `value` to the partition and waits until the broker has it. */
static void write_record(rd_kafka_t* rk, const char* topic, int partition, const char* value) {
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value), strlen(value)),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (err) die("produce", rd_kafka_err2str(err));
  if (rd_kafka_flush(rk, 30000)) die("flush", "timed out");
  printf("%d %s\n", partition, value);
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s BOOTSTRAP TOPIC PARTITIONS ROUNDS\n", argv[0]);
    return 2;
  }
  const char *bootstrap = argv[1], *topic = argv[2];
  const int partitions = atoi(argv[3]), rounds = atoi(argv[4]);
  char id_a[300], id_b[300], value[400];
  snprintf(id_a, sizeof id_a, "%s-a", topic);
  snprintf(id_b, sizeof id_b, "%s-b", topic);
  rd_kafka_t* a = make_producer(bootstrap, id_a);
  rd_kafka_t* b = make_producer(bootstrap, id_b);
  rd_kafka_t* plain = make_producer(bootstrap, nullptr);
  for (int round = 0; round < rounds; ++round) {
    const int a_commits = round % 3 != 1, b_commits = round % 2 == 1;
    check("begin_transaction a", rd_kafka_begin_transaction(a));
    check("begin_transaction b", rd_kafka_begin_transaction(b));
    for (int p = 0; p < partitions; ++p) {
      for (int i = 0; i < 2; ++i) {
        snprintf(value, sizeof value, "%c-a-r%d-p%d-%d", a_commits ? 'c' : 'a', round, p, i);
        write_record(a, topic, p, value);
        snprintf(value, sizeof value, "%c-b-r%d-p%d-%d", b_commits ? 'c' : 'a', round, p, i);
        write_record(b, topic, p, value);
      }
      snprintf(value, sizeof value, "c-plain-r%d-p%d", round, p);
      write_record(plain, topic, p, value);
    }
    check("end a",
          a_commits ? rd_kafka_commit_transaction(a, 60000) : rd_kafka_abort_transaction(a, 60000));
    check("end b",
          b_commits ? rd_kafka_commit_transaction(b, 60000) : rd_kafka_abort_transaction(b, 60000));
  }
  check("begin_transaction a", rd_kafka_begin_transaction(a));
  for (int p = 0; p < partitions; ++p) {
    snprintf(value, sizeof value, "o-a-p%d", p);
    write_record(a, topic, p, value);
  }
  fflush(stdout);
  // Left open: neither committed nor aborted here.
  rd_kafka_destroy(plain);
  rd_kafka_destroy(b);
  rd_kafka_destroy(a);
  return 0;
}
