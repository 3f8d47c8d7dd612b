// The records that flow through a pipeline: what a source hands out (a consumed record with
// its metadata: topic, partition, offset, timestamp and its type, headers, key, value; views
// valid until the source's next poll) and what a sink takes (a record to produce; a topic
// left empty is the sink's default topic). The client's types, so that nothing is copied on
// the way.
#pragma once

#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"

namespace kwire::connector {

using source_record = client::consumer_record;
using sink_record = client::producer_record;

}  // namespace kwire::connector
