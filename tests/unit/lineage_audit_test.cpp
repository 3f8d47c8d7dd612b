// kwire verify's check: lost, duplicated, reordered and foreign records by lineage.
#include "kwire/connector/lineage_audit.hpp"

#include <gtest/gtest.h>

namespace kc = kwire::connector;

TEST(Lineage, ParsesTopicPartitionOffsetFromTheRight) {
  const auto l = kc::parse_lineage("in.put-1:3:42");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->topic, "in.put-1");
  EXPECT_EQ(l->partition, 3);
  EXPECT_EQ(l->offset, 42);
  EXPECT_EQ(kc::format_lineage("in", 3, 42), "in:3:42");
  for (const auto* bad : {"", "in", "in:3", ":3:4", "in:x:4", "in:3:", "in:-1:4", "in:3:4x"})
    EXPECT_FALSE(kc::parse_lineage(bad).has_value()) << bad;
}

TEST(LineageAudit, AnExactCopyIsClean) {
  kc::lineage_audit audit;
  for (std::int64_t o = 0; o < 5; ++o) audit.add_input("in", 0, o);
  for (std::int64_t o = 0; o < 5; ++o) audit.add_output(1, kc::format_lineage("in", 0, o));
  const auto r = audit.report();
  EXPECT_EQ(r.in, 5);
  EXPECT_EQ(r.out, 5);
  EXPECT_TRUE(r.clean());
  EXPECT_TRUE(r.examples.empty());
}

TEST(LineageAudit, CountsLostDuplicatedReorderedAndForeign) {
  kc::lineage_audit audit;
  for (std::int64_t o = 10; o < 15; ++o) audit.add_input("in", 0, o);
  audit.add_input("in", 1, 0);
  audit.add_output(0, std::string("in:0:10"));
  audit.add_output(0, std::string("in:0:12"));
  audit.add_output(0, std::string("in:0:11"));  // reordered (after 12)
  audit.add_output(0, std::string("in:0:12"));  // duplicated, not also reordered
  audit.add_output(1, std::string("in:0:13"));  // another output partition: its own order
  audit.add_output(1, std::string("in:0:99"));  // foreign: no such input record
  audit.add_output(1, std::nullopt);            // foreign: no lineage
  audit.add_output(1, std::string("in:1:0"));
  const auto r = audit.report();
  EXPECT_EQ(r.in, 6);
  EXPECT_EQ(r.out, 8);
  EXPECT_EQ(r.lost, 1);  // in:0:14
  EXPECT_EQ(r.duplicated, 1);
  EXPECT_EQ(r.reordered, 1);
  EXPECT_EQ(r.foreign, 2);
  EXPECT_FALSE(r.clean());
  bool named_lost = false;
  for (const auto& e : r.examples) named_lost |= e == "lost: in:0:14";
  EXPECT_TRUE(named_lost);
}

TEST(LineageAudit, AnInputRecordReadTwiceCountsOnce) {
  kc::lineage_audit audit;
  audit.add_input("in", 0, 0);
  audit.add_input("in", 0, 0);
  audit.add_output(0, std::string("in:0:0"));
  EXPECT_TRUE(audit.report().clean());
  EXPECT_EQ(audit.report().in, 1);
}
