// The marker search behind a resumed transaction's outcome, on batches built by the protocol
// layer: data batches, markers of other producers, the marker of ours, and a fetch that
// starts inside a batch.
#include "producer/transaction_markers.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;

namespace {

// The base offset is the batch's first 8 bytes (outside the CRC): the broker assigns it.
void set_base_offset(std::vector<std::uint8_t>& batch, std::int64_t base) {
  for (int i = 0; i < 8; ++i)
    batch[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(static_cast<std::uint64_t>(base) >> (56 - 8 * i));
}

void append_data(std::vector<std::uint8_t>& out, std::int64_t base, std::int64_t pid, int count) {
  kp::record_batch_options o;
  o.transactional = true;
  kp::record_batch_builder b(o);
  b.set_producer(pid, 0, 0);
  for (int i = 0; i < count; ++i) b.append(0, std::nullopt, std::nullopt);
  ASSERT_FALSE(b.finish());
  auto bytes = std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end());
  set_base_offset(bytes, base);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void append_marker(std::vector<std::uint8_t>& out, std::int64_t base, std::int64_t pid,
                   kp::control_type type) {
  kp::record_batch_options o;
  o.transactional = true;
  o.control = true;
  kp::record_batch_builder b(o);
  b.set_producer(pid, 1, -1);
  b.append_end_txn_marker(type, 0, 0);
  ASSERT_FALSE(b.finish());
  auto bytes = std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end());
  set_base_offset(bytes, base);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

TEST(TransactionMarkers, TheFirstMarkerOfTheProducerAfterTheFirstOffsetDecides) {
  std::vector<std::uint8_t> log;
  append_data(log, 0, 7, 3);                           // 0-2: ours
  append_data(log, 3, 9, 2);                           // 3-4: another producer
  append_marker(log, 5, 9, kp::control_type::abort);   // 5: its abort
  append_marker(log, 6, 7, kp::control_type::commit);  // 6: our commit
  auto found = kd::find_transaction_marker(log, 7, 0);
  EXPECT_FALSE(found.error);
  ASSERT_TRUE(found.found);
  EXPECT_EQ(*found.found, kp::control_type::commit);

  // No marker of producer 8: read to the end, go on from there.
  found = kd::find_transaction_marker(log, 8, 0);
  EXPECT_FALSE(found.found);
  EXPECT_EQ(found.next_offset, 7);

  // A marker before the transaction's first offset is an older transaction's.
  found = kd::find_transaction_marker(log, 7, 7);
  EXPECT_FALSE(found.found);
}
}  // namespace
