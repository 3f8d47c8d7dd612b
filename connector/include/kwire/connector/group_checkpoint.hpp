// Detecting a completed checkpoint that was lost. After each completed checkpoint N the source
// commits N's positions to its group with the metadata "kwire-checkpoint=N". A restore that
// finds the group's offsets naming a checkpoint newer than the newest completed one in the
// store knows that one was lost (deleted, or its completion record gone): restoring the older
// one would hand out records again. It is refused with completed_checkpoint_lost, naming both.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kwire/connector/checkpoint_restore.hpp"
#include "kwire/connector/kafka_source_config.hpp"

namespace kwire::connector {

// "kwire-checkpoint=N"
std::string checkpoint_commit_metadata(checkpoint_id id);
// N of "kwire-checkpoint=N"; nullopt for any other metadata.
std::optional<checkpoint_id> parse_checkpoint_commit_metadata(std::string_view metadata);

// completed_checkpoint_lost when `group_checkpoint` (the newest id the group's offsets name;
// 0: none) is above every completed id of `point`.
checkpoint_error check_group_checkpoint(const restore_point& point, std::string_view group,
                                        checkpoint_id group_checkpoint);

// Reads every committed offset of the settings' group.id (the admin client, OffsetFetch) and
// returns in `out` the newest checkpoint id their metadata names (0: none). Blocks: the
// executor must be run by another thread.
checkpoint_error read_group_checkpoint(boost::asio::any_io_executor executor,
                                       const kafka_source_settings& settings, checkpoint_id& out);

}  // namespace kwire::connector
