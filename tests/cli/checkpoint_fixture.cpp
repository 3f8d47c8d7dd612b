// Writes a small checkpoint store for the `kwire checkpoint inspect` test, through the
// connector's own file store: a manifest (parallelism 2, prefix "demo", pool 5), checkpoints
// 1 and 2 completed, 3 never completed (subtask 0's part only).
//   kwire-checkpoint-fixture DIR
#include <iostream>

#include "kwire/client/transaction.hpp"
#include "kwire/connector/file_checkpoint_store.hpp"

namespace kc = kwire::connector;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: kwire-checkpoint-fixture DIR\n";
    return 2;
  }
  kc::file_checkpoint_store store(argv[1]);
  auto fail = [](const kc::checkpoint_error& e) {
    std::cerr << "kwire-checkpoint-fixture: " << e.describe() << '\n';
    return 1;
  };
  auto manifest = kc::make_job_manifest(2, "demo", 5);
  manifest.written_ms = 1'767'225'500'000;
  if (auto e = store.write_manifest(manifest)) return fail(e);
  for (kc::checkpoint_id id = 1; id <= 3; ++id) {
    for (std::int32_t subtask = 0; subtask < 2; ++subtask) {
      if (id == 3 && subtask == 1) break;  // 3 never completes
      kwire::client::prepared_transaction handle;
      handle.transactional_id = "demo-" + std::to_string(subtask) + "-" + std::to_string(id % 5);
      handle.producer_id = 1000 + subtask;
      handle.epoch = static_cast<std::int16_t>(id);
      handle.partitions = {{"out", subtask, 10 * id}};
      kc::subtask_state part;
      part.checkpoint = id;
      part.subtask = subtask;
      part.positions = {{"in", subtask, 100 * id + subtask}};
      part.pending_transactions = {{id, kwire::client::encode_prepared_transaction(handle)}};
      part.participant_states["counts"] = {1, 2, 3};
      if (auto e = store.write_part(part)) return fail(e);
    }
    if (id < 3)
      if (auto e = store.complete(id, 2, 1'767'225'600'000 + id)) return fail(e);
  }
  return 0;
}
