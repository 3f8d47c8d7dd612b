#include "kwire/client/topic_name.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kc = kwire::client;

TEST(TopicName, NamesKafkaAcceptsHaveNoProblem) {
  for (const std::string& name : std::vector<std::string>{"orders", "a", "A.b_c-9", "...",
                                                          "_internal", "x..y",
                                                          std::string(249, 'x')}) {
    EXPECT_EQ(kc::topic_name_problem(name), std::nullopt) << name;
  }
}

TEST(TopicName, NamesKafkaRefusesSayWhy) {
  EXPECT_EQ(kc::topic_name_problem(""), "is empty");
  EXPECT_EQ(kc::topic_name_problem("."), R"(cannot be "." or "..")");
  EXPECT_EQ(kc::topic_name_problem(".."), R"(cannot be "." or "..")");
  EXPECT_EQ(kc::topic_name_problem(std::string(250, 'x')),
            "is 250 characters long, more than the 249 allowed");
  EXPECT_EQ(kc::topic_name_problem("bad topic!"),
            "contains a space (allowed: ASCII letters, digits, '.', '_' and '-')");
  EXPECT_EQ(kc::topic_name_problem("bad!"),
            "contains '!' (allowed: ASCII letters, digits, '.', '_' and '-')");
  EXPECT_EQ(kc::topic_name_problem("a/b"),
            "contains '/' (allowed: ASCII letters, digits, '.', '_' and '-')");
  EXPECT_EQ(kc::topic_name_problem("t\xc3\xa9"),
            "contains the byte 0xc3 (allowed: ASCII letters, digits, '.', '_' and '-')");
  EXPECT_EQ(kc::topic_name_problem(std::string("a\0b", 3)),
            "contains the byte 0x00 (allowed: ASCII letters, digits, '.', '_' and '-')");
}
