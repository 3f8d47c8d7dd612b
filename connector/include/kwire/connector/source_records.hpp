// What a source's poll hands out: the consumer's record_set, less the records at or after a
// partition's limit. A bounded source must not hand out records at or after a partition's
// stop offset, but a fetch returns whole batches and the client's record_set cannot be cut
// from outside; so the source hands the set on with a limit for the (few) partitions that ran
// past their stop, and this view's cursor skips those records. Nothing is copied; records are
// views valid as long as this object (or a copy) holds the set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kwire/client/consumer.hpp"
#include "kwire/connector/record.hpp"

namespace kwire::connector {

// Records of `topic`/`partition` at or after `end_offset` are left out.
struct partition_limit {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t end_offset = 0;
};

class source_records {
 public:
  class cursor {
   public:
    // The next record, or false at the end.
    bool next(source_record& out);

   private:
    friend class source_records;
    explicit cursor(const source_records* records)
        : records_(records), inner_(records->set_.records()) {}
    const source_records* records_;
    client::record_set::cursor inner_;
  };

  source_records() = default;
  // `set` less the records `limits` leave out (counted here once, walking the set only
  // when there is a limit).
  source_records(client::record_set set, std::vector<partition_limit> limits);

  cursor records() const { return cursor(this); }
  std::size_t record_count() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  void clear();

 private:
  bool left_out(const source_record& record) const noexcept;

  client::record_set set_;
  std::vector<partition_limit> limits_;
  std::size_t count_ = 0;
};

}  // namespace kwire::connector
