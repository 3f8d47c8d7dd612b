// The sink's start-up checks against the cluster (what Flink leaves to the user to find out
// in production):
//   exactly_once  transaction.timeout.ms above the brokers' transaction.max.timeout.ms is an
//                 error naming both (InitProducerId would refuse it later, less clearly);
//                 one checkpoint interval + checkpoint timeout above transaction.timeout.ms
//                 is an error (a transaction could time out before its checkpoint completes:
//                 loss by design); twice that above it is a warning (one failed checkpoint
//                 and the next's transaction carries over);
//   both guarantees  the output topic's min.insync.replicas below 2, or
//                 unclean.leader.election.enable=true, are warnings: an acknowledged record
//                 can then be lost with one broker.
// Blocking; the admin client runs on `executor`, which another thread runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/connector/checkpoint_coordinator.hpp"
#include "kwire/connector/error.hpp"
#include "kwire/connector/sink.hpp"

namespace kwire::connector {

struct sink_startup_report {
  checkpoint_error error;  // invalid_config naming the settings, or what the cluster answered
  std::vector<std::string> warnings;
};

// The pure part: the timeouts against each other (no broker). `broker_max_ms` < 0: unknown.
sink_startup_report check_sink_timeouts(std::chrono::milliseconds transaction_timeout,
                                        std::int64_t broker_max_ms,
                                        const checkpoint_timing& timing);

// `producer_properties`: as sink_producer_properties() gave them.
sink_startup_report check_sink_startup(boost::asio::any_io_executor executor,
                                       const client::properties& producer_properties,
                                       const std::string& topic, delivery_guarantee guarantee,
                                       const checkpoint_timing& timing);

}  // namespace kwire::connector
