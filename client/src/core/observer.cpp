#include "core/observer.hpp"

namespace kwire::client::detail {

observer::observer(observability settings, std::string kind, std::string client_id)
    : settings_(std::move(settings)),
      kind_(std::move(kind)),
      client_id_(std::move(client_id)),
      name_(kind_ + " " + client_id_),
      has_sink_(static_cast<bool>(settings_.sink)) {}

void observer::write(log_level level, log_category category, std::string_view message) const {
  settings_.sink(log_record{level, category, name_, message});
}

}  // namespace kwire::client::detail
