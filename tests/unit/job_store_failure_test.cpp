// run_job when the checkpoint store cannot be listed at the start of an attempt: a store
// that could not be read (an I/O error, brokers out of reach) is restarted like any other
// failure; a damaged one (the connector's own codes) ends the job at once.
#include <gtest/gtest.h>

#include <system_error>

#include "kwire/connector/job.hpp"

namespace kc = kwire::connector;

namespace {

// A store without checkpoints whose list() fails with `list_error`; counts the calls.
class failing_store final : public kc::checkpoint_store {
 public:
  explicit failing_store(kc::checkpoint_error list_error) : list_error_(std::move(list_error)) {}
  kc::checkpoint_error write_manifest(const kc::job_manifest&) override { return {}; }
  kc::checkpoint_error read_manifest(kc::job_manifest&) override {
    return {make_error_code(kc::errc::no_manifest), "test"};
  }
  kc::checkpoint_error write_part(const kc::subtask_state&) override { return {}; }
  kc::checkpoint_error complete(kc::checkpoint_id, std::int32_t, std::int64_t) override {
    return {};
  }
  kc::checkpoint_error list(std::vector<kc::stored_checkpoint>&) override {
    ++lists;
    return list_error_;
  }
  kc::checkpoint_error load(kc::checkpoint_id, kc::completed_checkpoint&) override {
    return {make_error_code(kc::errc::checkpoint_not_found), "test"};
  }
  int lists = 0;

 private:
  kc::checkpoint_error list_error_;
};

kc::job_result run_with(failing_store& store) {
  kc::job_settings settings;
  settings.restart_attempts = 2;
  settings.restart_delay = std::chrono::milliseconds(0);
  const kc::subtask_factory never = [](std::int32_t, std::int32_t, kc::job_subtask&,
                                       std::string& why) {
    why = "not reached";
    return make_error_code(kc::errc::invalid_argument);
  };
  return kc::run_job(settings, store, never);
}

TEST(job_store_failure, a_store_that_cannot_be_read_is_restarted) {
  failing_store store({std::make_error_code(std::errc::connection_refused), "topic ckpt: read"});
  const auto result = run_with(store);
  EXPECT_EQ(result.error, std::errc::connection_refused);
  EXPECT_FALSE(result.configuration_error);
  EXPECT_EQ(result.restarts, 2);
  EXPECT_EQ(store.lists, 3);
}

TEST(job_store_failure, a_damaged_store_ends_the_job_at_once) {
  failing_store store({make_error_code(kc::errc::checkpoint_corrupt), "topic ckpt key chk/1"});
  const auto result = run_with(store);
  EXPECT_EQ(result.error, kc::errc::checkpoint_corrupt);
  EXPECT_TRUE(result.configuration_error);
  EXPECT_EQ(result.restarts, 0);
  EXPECT_EQ(store.lists, 1);
}

}  // namespace
