#include "kwire/connector/group_checkpoint.hpp"

#include <algorithm>
#include <charconv>

#include "blocking_call.hpp"
#include "kwire/client/admin.hpp"

namespace kwire::connector {
namespace {
constexpr std::string_view metadata_prefix = "kwire-checkpoint=";
}

std::string checkpoint_commit_metadata(checkpoint_id id) {
  return std::string(metadata_prefix) + std::to_string(id);
}

std::optional<checkpoint_id> parse_checkpoint_commit_metadata(std::string_view metadata) {
  if (!metadata.starts_with(metadata_prefix)) return std::nullopt;
  const auto digits = metadata.substr(metadata_prefix.size());
  checkpoint_id id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || id <= 0)
    return std::nullopt;
  return id;
}

checkpoint_error check_group_checkpoint(const restore_point& point, std::string_view group,
                                        checkpoint_id group_checkpoint) {
  const checkpoint_id newest =
      point.completed_ids.empty() ? 0 : *std::ranges::max_element(point.completed_ids);
  if (group_checkpoint <= newest) return {};
  return {make_error_code(errc::completed_checkpoint_lost),
          "group \"" + std::string(group) + "\" committed the offsets of checkpoint " +
              std::to_string(group_checkpoint) +
              ", but the newest completed checkpoint in the store is " +
              (newest == 0 ? std::string("none") : std::to_string(newest)) +
              ": restoring it would hand out records again"};
}

checkpoint_error read_group_checkpoint(boost::asio::any_io_executor executor,
                                       const kafka_source_settings& settings, checkpoint_id& out) {
  if (!settings.consumer.group_id)
    return {make_error_code(errc::invalid_config),
            "group.id: required to read the group's offsets"};
  client::admin admin(executor, settings.admin);
  auto [ec, offsets] = detail::blocking_call<client::group_offsets>([&](auto done) {
    admin.async_list_group_offsets(*settings.consumer.group_id, std::nullopt, {}, std::move(done));
  });
  admin.close();
  if (ec)
    return {ec, "reading the committed offsets of group \"" + *settings.consumer.group_id +
                    "\": " + (offsets.message.empty() ? ec.message() : offsets.message)};
  checkpoint_id newest = 0;
  for (const auto& p : offsets.partitions)
    if (p.metadata)
      if (auto id = parse_checkpoint_commit_metadata(*p.metadata)) newest = std::max(newest, *id);
  out = newest;
  return {};
}

}  // namespace kwire::connector
