// The exactly-once sink's transactional ids: a bounded pool per subtask, "prefix-SUBTASK-SLOT".
// The open transaction holds one slot and every prepared transaction not yet committed holds
// its own; a slot is reused only once its transaction is settled, because initialising an id
// (InitProducerId) aborts whatever that id has open. No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kwire::connector {

// "prefix-SUBTASK-SLOT".
std::string make_transactional_id(std::string_view prefix, std::int32_t subtask, std::int32_t slot);

// The subtask and slot of an id of the prefix; nullopt for another id.
struct transactional_id_parts {
  std::int32_t subtask = -1;
  std::int32_t slot = -1;
};
std::optional<transactional_id_parts> parse_transactional_id(std::string_view prefix,
                                                             std::string_view id);

class transactional_id_pool {
 public:
  transactional_id_pool(std::string prefix, std::int32_t subtask, std::int32_t size);

  // A free slot for a new transaction, taken in turn (the slot after the last one taken), or
  // nullopt when every slot is busy: more checkpoints pending than the pool allows.
  std::optional<std::int32_t> acquire();
  // Marks a slot busy (a restored pending transaction of this subtask's id).
  void mark_busy(std::int32_t slot);
  void release(std::int32_t slot);

  std::string id(std::int32_t slot) const;
  std::int32_t size() const noexcept { return static_cast<std::int32_t>(busy_.size()); }
  std::int32_t busy_count() const noexcept;

 private:
  std::string prefix_;
  std::int32_t subtask_;
  std::vector<bool> busy_;
  std::int32_t next_ = 0;
};

}  // namespace kwire::connector
