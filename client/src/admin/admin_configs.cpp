// Admin operations on configs: DescribeConfigs and IncrementalAlterConfigs. A broker's own
// resource (broker or broker logger named by its id) goes to that broker, as in Java; the
// rest (topics, the cluster-wide broker default, groups) to the controller.
#include <charconv>

#include "admin/admin_call.hpp"

namespace kwire::client {
namespace detail {
namespace {

admin_route route_for(const config_resource& resource) {
  const bool per_broker = resource.type == config_resource_type::broker ||
                          resource.type == config_resource_type::broker_logger;
  std::int32_t id = -1;
  const auto& name = resource.name;
  if (per_broker && !name.empty()) {
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
    if (ec == std::errc{} && end == name.data() + name.size()) return admin_route::to_broker(id);
  }
  return admin_route::to_controller();
}

// "2:orders", so that resources of different types never share a key.
std::string key_of(std::int8_t type, std::string_view name) {
  return std::to_string(type) + ":" + std::string(name);
}
std::string key_of(const config_resource& r) {
  return key_of(static_cast<std::int8_t>(r.type), r.name);
}

diagnostics about_resource(const diagnostics& request, const config_resource& r) {
  // Topic resources name their topic; the others say what they are in the message.
  return r.type == config_resource_type::topic ? about(request, r.name) : request;
}

config_entry entry_from(const protocol::DescribeConfigsResponse::DescribeConfigsResourceResult& c,
                        std::int16_t version) {
  config_entry e;
  e.name = c.name;
  e.value = c.value;
  e.read_only = c.read_only;
  e.sensitive = c.is_sensitive;
  e.source = static_cast<config_source>(c.config_source);
  // v0 has is_default; later versions say it with the source.
  e.is_default = version == 0 ? c.is_default : e.source == config_source::default_config;
  for (const auto& s : c.synonyms)
    e.synonyms.push_back({s.name, s.value, static_cast<config_source>(s.source)});
  e.type = c.config_type;
  e.documentation = c.documentation;
  return e;
}

class describe_configs_call final : public controller_call {
 public:
  describe_configs_call(admin_engine& engine, std::vector<config_resource> resources,
                        describe_configs_options options,
                        admin_completion<describe_configs_result> done)
      : controller_call(engine, options.timeout, resources.size()),
        keys_(keys_of(resources, [](const config_resource& r) { return key_of(r); })),
        options_(options),
        done_(std::move(done)) {
    result_.resources.resize(resources.size());
    for (std::size_t i = 0; i < resources.size(); ++i) result_.resources[i].resource = resources[i];
    reject_duplicates(keys_);
  }

 private:
  admin_route route(std::size_t item) override {
    return route_for(result_.resources[item].resource);
  }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::DescribeConfigsRequest::api_key, items);
    if (!version) return;
    protocol::DescribeConfigsRequest request;
    request.include_synonyms = options_.include_synonyms;
    request.include_documentation = *version >= 3 && options_.include_documentation;
    for (auto i : items) {
      auto& r = request.resources.emplace_back();
      r.resource_type = static_cast<std::int8_t>(result_.resources[i].resource.type);
      r.resource_name = result_.resources[i].resource.name;
      r.configuration_keys.reset();  // every key
    }
    send_request<protocol::DescribeConfigsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, keys_), version = *version](
            const protocol::DescribeConfigsResponse& response, const diagnostics& detail) {
          for (const auto& r : response.results) {
            auto found = index.find(key_of(r.resource_type, r.resource_name));
            if (found == index.end()) continue;
            described_config& out = result_.resources[found->second];
            auto d = about_resource(detail, out.resource);
            const auto ec = error_from(r.error_code, r.error_message, d);
            if (!ec) {
              out.entries.clear();
              for (const auto& c : r.configs) out.entries.push_back(entry_from(c, version));
            }
            settle(found->second, ec, d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.resources);
    done_(ec, std::move(result_));
  }

  std::vector<std::string> keys_;
  describe_configs_options options_;
  admin_completion<describe_configs_result> done_;
  describe_configs_result result_;
};

class alter_configs_call final : public controller_call {
 public:
  alter_configs_call(admin_engine& engine, std::vector<resource_alterations> resources,
                     alter_configs_options options, admin_completion<alter_configs_result> done)
      : controller_call(engine, options.timeout, resources.size()),
        alterations_(std::move(resources)),
        keys_(keys_of(alterations_,
                      [](const resource_alterations& r) { return key_of(r.resource); })),
        options_(options),
        done_(std::move(done)) {
    result_.resources.resize(alterations_.size());
    for (std::size_t i = 0; i < alterations_.size(); ++i)
      result_.resources[i].resource = alterations_[i].resource;
    reject_duplicates(keys_);
  }

 private:
  admin_route route(std::size_t item) override { return route_for(alterations_[item].resource); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version =
        pick_version(*conn, protocol::IncrementalAlterConfigsRequest::api_key, items);
    if (!version) return;
    protocol::IncrementalAlterConfigsRequest request;
    request.validate_only = options_.validate_only;
    for (auto i : items) {
      auto& r = request.resources.emplace_back();
      r.resource_type = static_cast<std::int8_t>(alterations_[i].resource.type);
      r.resource_name = alterations_[i].resource.name;
      for (const auto& change : alterations_[i].changes) {
        auto& c = r.configs.emplace_back();
        c.name = change.name;
        c.config_operation = static_cast<std::int8_t>(change.op);
        c.value = change.value;
      }
    }
    send_request<protocol::IncrementalAlterConfigsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, keys_)](
            const protocol::IncrementalAlterConfigsResponse& response, const diagnostics& detail) {
          for (const auto& r : response.responses) {
            auto found = index.find(key_of(r.resource_type, r.resource_name));
            if (found == index.end()) continue;
            auto d = about_resource(detail, alterations_[found->second].resource);
            settle(found->second, error_from(r.error_code, r.error_message, d), d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.resources);
    done_(ec, std::move(result_));
  }

  std::vector<resource_alterations> alterations_;
  std::vector<std::string> keys_;
  alter_configs_options options_;
  admin_completion<alter_configs_result> done_;
  alter_configs_result result_;
};

}  // namespace
}  // namespace detail

void admin::start_describe_configs(std::vector<config_resource> resources,
                                   describe_configs_options options,
                                   completion<describe_configs_result> done) {
  engine_->launch(std::make_shared<detail::describe_configs_call>(*engine_, std::move(resources),
                                                                  options, std::move(done)));
}

void admin::start_alter_configs(std::vector<resource_alterations> resources,
                                alter_configs_options options,
                                completion<alter_configs_result> done) {
  engine_->launch(std::make_shared<detail::alter_configs_call>(*engine_, std::move(resources),
                                                               options, std::move(done)));
}

}  // namespace kwire::client
