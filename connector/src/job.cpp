#include "kwire/connector/job.hpp"

#include <optional>
#include <set>
#include <thread>

#include "crash_point.hpp"
#include "kwire/connector/commit_latency.hpp"
#include "kwire/connector/restart_strategy.hpp"
#include "kwire/connector/transaction_recovery.hpp"

namespace kwire::connector {
namespace {

using clock = std::chrono::steady_clock;

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A transform's output goes to the sink.
class sink_emitter final : public record_emitter {
 public:
  sink_emitter(sink& target, std::int64_t& written) : sink_(target), written_(written) {}
  std::error_code emit(const sink_record& record) override {
    ++written_;
    return sink_.write(record);
  }

 private:
  sink& sink_;
  std::int64_t& written_;
};

// The sink record for a consumed record that no transform changed.
sink_record as_sink_record(const source_record& in) {
  sink_record out;
  out.key = in.key;
  out.value = in.value;
  out.timestamp = in.timestamp;
  return out;
}

struct attempt {
  job_result result;
  bool failed = false;
  void fail(std::error_code ec, std::string cause) {
    failed = true;
    result.error = ec;
    result.cause = std::move(cause);
  }
};

class job_attempt {
 public:
  job_attempt(const job_settings& settings, checkpoint_store& store, const subtask_factory& factory)
      : settings_(settings), store_(store), factory_(factory) {}

  attempt run();

 private:
  void log(const std::string& line) const {
    if (settings_.log) settings_.log(line);
  }
  bool prepare_manifest(job_manifest& manifest);
  bool build_and_restore(const restore_point& point);
  bool process_round(bool& any_records);
  bool caught_up() const;
  bool finished() const;
  void close_subtasks();
  subtask_participants participants(std::int32_t i) {
    auto& s = subtasks_[static_cast<std::size_t>(i)];
    subtask_participants p{i, s.source.get(), s.sink.get(), s.others};
    if (s.transform) p.others.push_back(s.transform.get());
    return p;
  }

  const job_settings& settings_;
  checkpoint_store& store_;
  const subtask_factory& factory_;
  bool advance_watermarks(std::size_t i, clock::time_point now);

  attempt out_;
  std::vector<job_subtask> subtasks_;
  std::vector<std::unique_ptr<subtask_watermarks>> watermarks_;  // with event time: per subtask
  commit_latency_tracker latency_;
};

bool job_attempt::prepare_manifest(job_manifest& manifest) {
  const auto wanted = make_job_manifest(settings_.parallelism, settings_.transactional_id_prefix,
                                        settings_.transactional_id_pool);
  job_manifest stored;
  auto error = store_.read_manifest(stored);
  if (error && error.code == make_error_code(errc::no_manifest)) {
    manifest = wanted;
  } else if (error) {
    out_.fail(error.code, error.describe());
    return false;
  } else {
    auto r = reconcile_manifest(stored, wanted);
    if (r.error) {
      out_.fail(r.error.code, r.error.describe());
      out_.result.configuration_error = true;
      return false;
    }
    if (r.previous_parallelism)
      log("parallelism changed from " + std::to_string(*r.previous_parallelism) + " to " +
          std::to_string(settings_.parallelism) +
          ": positions and pending transactions are "
          "redistributed");
    manifest = r.merged;
  }
  manifest.written_ms = wall_clock_ms();
  if (auto w = store_.write_manifest(manifest)) {
    out_.fail(w.code, w.describe());
    return false;
  }
  return true;
}

bool job_attempt::build_and_restore(const restore_point& point) {
  const auto n = settings_.parallelism;
  subtasks_.resize(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i) {
    auto& s = subtasks_[static_cast<std::size_t>(i)];
    std::string message;
    if (auto ec = factory_(i, n, s, message)) {
      out_.fail(ec, "subtask " + std::to_string(i) + ": " + message);
      out_.result.configuration_error = true;
      return false;
    }
    if (!s.source || !s.sink) {
      out_.fail(make_error_code(errc::invalid_argument),
                "subtask " + std::to_string(i) + ": the factory made no source or no sink");
      out_.result.configuration_error = true;
      return false;
    }
    if (auto ec = s.source->open(i, n)) {
      out_.fail(ec, "subtask " + std::to_string(i) + " source: " + ec.message());
      return false;
    }
    if (auto ec = s.sink->open(i, n)) {
      out_.fail(ec, "subtask " + std::to_string(i) + " sink: " + ec.message());
      return false;
    }
  }
  if (settings_.watermarks)
    for (std::int32_t i = 0; i < n; ++i)
      watermarks_.push_back(
          std::make_unique<subtask_watermarks>(*settings_.watermarks, clock::now()));
  if (!point.checkpoint) return true;
  const auto& restored = *point.checkpoint;
  out_.result.restored_from = restored.id;
  const auto states = rescale_checkpoint(restored, n, settings_.owner);
  for (std::int32_t i = 0; i < n; ++i)
    if (auto error = restore_subtask(participants(i), states[static_cast<std::size_t>(i)])) {
      out_.fail(error.code, error.describe());
      return false;
    }
  return true;
}

bool job_attempt::process_round(bool& any_records) {
  for (std::size_t i = 0; i < subtasks_.size(); ++i) {
    auto& s = subtasks_[i];
    if (s.source->finished()) continue;
    if (!watermarks_.empty() && !advance_watermarks(i, clock::now())) return false;
    source_records records;
    const auto timeout = any_records ? std::chrono::milliseconds(0) : std::chrono::milliseconds(5);
    if (auto ec = s.source->poll(timeout, records)) {
      out_.fail(ec, "subtask " + std::to_string(i) + " source: " + ec.message());
      return false;
    }
    if (records.empty()) continue;
    any_records = true;
    latency_.polled(clock::now(), static_cast<std::int64_t>(records.record_count()));
    auto cursor = records.records();
    source_record record;
    auto* event_time = watermarks_.empty() ? nullptr : watermarks_[i].get();
    const auto polled_at = clock::now();
    while (cursor.next(record)) {
      ++out_.result.records_in;
      if (event_time) record.timestamp = event_time->on_record(record, polled_at);
      std::error_code ec;
      if (!s.transform) {
        ++out_.result.records_out;
        ec = s.sink->write(as_sink_record(record));
      } else {
        sink_emitter emit(*s.sink, out_.result.records_out);
        ec = s.transform->process(record, emit);
      }
      if (ec) {
        out_.fail(ec, "subtask " + std::to_string(i) + " at " + std::string(record.topic) + "-" +
                          std::to_string(record.partition) + "@" + std::to_string(record.offset) +
                          ": " + ec.message());
        return false;
      }
    }
  }
  return true;
}

// The subtask's partitions brought up to date when the periodic watermarks are due, then its
// watermark handed to its transform when it advanced.
bool job_attempt::advance_watermarks(std::size_t i, clock::time_point now) {
  auto& s = subtasks_[i];
  auto& w = *watermarks_[i];
  if (now >= w.next_due()) w.assign(s.source->partitions(), now);
  const auto watermark = w.advance(now);
  if (!watermark || !s.transform) return true;
  sink_emitter emit(*s.sink, out_.result.records_out);
  if (auto ec = s.transform->on_watermark(*watermark, emit)) {
    out_.fail(ec, "subtask " + std::to_string(i) + " transform at watermark " +
                      std::to_string(*watermark) + ": " + ec.message());
    return false;
  }
  return true;
}

bool job_attempt::caught_up() const {
  for (const auto& s : subtasks_)
    if (!s.source->finished() && !s.source->caught_up()) return false;
  return true;
}

bool job_attempt::finished() const {
  for (const auto& s : subtasks_)
    if (!s.source->finished()) return false;
  return true;
}

void job_attempt::close_subtasks() {
  for (auto& s : subtasks_)
    if (s.sink) s.sink->close();
  subtasks_.clear();
}

attempt job_attempt::run() {
  job_manifest manifest;
  if (!prepare_manifest(manifest)) return std::move(out_);
  restore_point point;
  if (auto error = find_restore_point(store_, settings_.unreadable, point)) {
    out_.fail(error.code, error.describe());
    // A damaged store (the connector's own codes: corrupt, a part missing, another format
    // version) does not heal by restarting; a store that could not be read (a file system
    // error, brokers unreachable for a moment) may.
    out_.result.configuration_error = error.code.category() == connector_category();
    return std::move(out_);
  }
  for (const auto& w : point.warnings) log(w);
  if (settings_.check_restore)
    if (auto refused = settings_.check_restore(point)) {
      out_.fail(refused.code, refused.describe());
      // A lost checkpoint does not come back by restarting; anything else (the group's offsets
      // unreadable for a moment) may.
      out_.result.configuration_error =
          refused.code == make_error_code(errc::completed_checkpoint_lost);
      return std::move(out_);
    }
  if (!build_and_restore(point)) {
    close_subtasks();
    return std::move(out_);
  }
  crash_point("restore-committed", out_.result.restored_from);
  if (!settings_.transactional_id_prefix.empty()) {
    const auto sweep = abort_lingering_transactions(
        settings_.executor, settings_.sweep_producer_properties, manifest, {});
    if (sweep.error) {
      out_.fail(sweep.error, sweep.detail);
      close_subtasks();
      return std::move(out_);
    }
  }

  std::vector<subtask_participants> all;
  for (std::int32_t i = 0; i < settings_.parallelism; ++i) all.push_back(participants(i));
  checkpoint_error checkpoint_failure;
  checkpoint_id stop_trigger = 0;  // the first checkpoint triggered after the end
  bool ending = false;
  checkpoint_driver driver(
      settings_.timing, store_, std::move(all), point.next_id, clock::now(), wall_clock_ms,
      [&](const coordinator_action& action, const checkpoint_error& error) {
        if (error && !checkpoint_failure) checkpoint_failure = error;
        if (action.what == coordinator_action::kind::trigger) latency_.triggered(action.id);
        if (action.what == coordinator_action::kind::notify_complete)
          latency_.completed(action.id, clock::now());
        if (action.what == coordinator_action::kind::trigger && ending && stop_trigger == 0)
          stop_trigger = action.id;
        if (action.what == coordinator_action::kind::notify_aborted)
          log("checkpoint " + std::to_string(action.id) + " aborted: " + to_string(action.reason));
      });

  auto last_record = clock::now();
  std::optional<clock::time_point> first_record;
  while (true) {
    bool any_records = false;
    if (!ending) {
      if (!process_round(any_records)) break;
      const auto now = clock::now();
      if (any_records) {
        if (!first_record) first_record = now;
        last_record = now;
        out_.result.busy = last_record - *first_record;
      }
      const bool stop_asked = settings_.stop_requested && settings_.stop_requested->load();
      const bool idle = settings_.stop_after_idle.count() > 0 && caught_up() &&
                        now - last_record >= settings_.stop_after_idle;
      if (stop_asked || idle || finished()) {
        ending = true;
        log(stop_asked ? "stop requested: a last checkpoint, then exit"
                       : "input ended: a last checkpoint, then exit");
      }
    }
    driver.run_due(clock::now());
    if (checkpoint_failure) {
      out_.fail(checkpoint_failure.code, checkpoint_failure.describe());
      break;
    }
    out_.result.last_completed = driver.last_completed();
    if (ending) {
      if (stop_trigger != 0 && driver.last_completed() >= stop_trigger) break;
      std::this_thread::sleep_until(
          std::min(driver.next_deadline(), clock::now() + std::chrono::milliseconds(50)));
    }
  }
  close_subtasks();
  out_.result.commit_latency = latency_.histogram();
  return std::move(out_);
}

}  // namespace

job_result run_job(const job_settings& settings, checkpoint_store& store,
                   const subtask_factory& factory) {
  fixed_delay_restart restart(settings.restart_attempts, settings.restart_delay);
  while (true) {
    auto outcome = job_attempt(settings, store, factory).run();
    outcome.result.restarts = restart.attempts_made();
    if (!outcome.failed) return outcome.result;
    if (outcome.result.configuration_error) return outcome.result;
    if (settings.log) settings.log("job failed: " + outcome.result.cause);
    const auto decision = restart.on_failure();
    if (!decision.restart) {
      outcome.result.cause = restart.describe_exhausted(outcome.result.cause);
      outcome.result.restarts = restart.attempts_made();
      return outcome.result;
    }
    if (settings.log)
      settings.log("restart " + std::to_string(decision.attempt) + " of " +
                   std::to_string(restart.attempts_allowed()) + " in " +
                   std::to_string(decision.delay.count()) + " ms");
    std::this_thread::sleep_for(decision.delay);
  }
}

}  // namespace kwire::connector
