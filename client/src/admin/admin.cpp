// The admin client's public object: owns the engine (admin_call.cpp); each operation's
// start_* lives with its kind (admin_topics.cpp, admin_configs.cpp, admin_groups.cpp,
// admin_partitions.cpp).
#include "kwire/client/admin.hpp"

#include <future>

#include "admin/admin_call.hpp"
#include "core/observer.hpp"

namespace kwire::client {

admin::admin(asio::any_io_executor executor, admin_config config)
    : engine_(std::make_shared<detail::admin_engine>(std::move(executor), std::move(config))) {
  engine_->start();
}

admin::~admin() {
  // Does not wait: the strand finishes the shutdown (the engine lives until it has).
  if (engine_) engine_->close(nullptr);
}

void admin::start_close(detail::unique_function<void()> done) { engine_->close(std::move(done)); }

void admin::close() {
  std::promise<void> done;
  auto future = done.get_future();
  engine_->close([&done] { done.set_value(); });
  future.wait();
}

const admin_config& admin::config() const noexcept { return engine_->config(); }
client_metrics_snapshot admin::metrics() const {
  const auto* o = engine_->brokers().observer();
  return o->counters().snapshot(o->kind(), o->client_id());
}

}  // namespace kwire::client
