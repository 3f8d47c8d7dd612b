// Cross-check of kwire's partition assignors and consumer-protocol bytes against the Java
// client (tests/interop/README.md).
//
//   kwire-xcheck-assignors --java-run tests/interop/java/run.sh [--seed S] [--scenarios N]
//                          [--jars 4.4.0,3.9.2] [--work DIR]
//
// Generates N random groups per assignor (default 1000; 1-10 members with random ids, some
// static, 1-6 topics of 1-12 partitions, equal or random subscriptions, sometimes a topic
// the metadata lacks; for cooperative-sticky random previous ownership with current, stale,
// unknown and conflicting generations) and has the Java harness (`assignors`) run
// RangeAssignor, RoundRobinAssignor and CooperativeStickyAssignor on each with every jar.
//  - range, roundrobin: kwire's assignment must equal Java's exactly.
//  - cooperative-sticky: Java's internal HashMap order picks among equivalent choices, so
//    exact equality is counted, not required. Both sides' results are checked for
//    validity and completeness (partitions held back only when another member owns them),
//    then the follow-up round (owned = round-1 result) is run on each side and checked for
//    balance and stickiness. kwire fails on any validity/completeness violation, and on a
//    balance or stickiness violation in a group where Java's result has none.
// Then the ConsumerProtocolSubscription/Assignment bytes of random members, versions 0-3,
// must equal Java's ConsumerProtocol.serializeSubscription/serializeAssignment, and kwire
// must decode Java's bytes back to the same encoding.
// Exit 0 pass, 1 any failure, 77 skipped (no java or mvn).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../support/assignment_properties.hpp"
#include "kwire/client/assignor.hpp"
#include "kwire/client/consumer_protocol.hpp"
#include "xcheck_common.hpp"

namespace fs = std::filesystem;
namespace kc = kwire::client;
namespace kt = kwire::test;

namespace {

constexpr std::size_t differences_shown = 8;
constexpr std::size_t notes_shown = 4;
const std::vector<std::string> assignor_names{"range", "roundrobin", "cooperative-sticky"};
// Names that sort differently as bytes than by length or case, all legal topic names.
const std::vector<std::string> topic_names{"orders", "Orders", "audit", "a.b", "a_b",
                                           "a-b",    "x1",     "x10",   "x9",  "zeta"};

using kwire::xcheck::options;

struct scenario {
  std::string id;
  std::string assignor;
  kc::topic_partition_counts counts;
  std::vector<kc::member_subscription> members;
  bool equal_subscriptions = false;
};

// Numbers straight from mt19937_64 (fully specified) rather than through distributions
// (library-specific), so a seed names the same groups everywhere.
class generator {
 public:
  explicit generator(std::uint64_t seed) : random_(seed) {}

  std::uint64_t below(std::uint64_t n) { return random_() % n; }
  bool chance(std::uint64_t one_in) { return below(one_in) == 0; }

  std::string hex(std::size_t digits) {
    static constexpr char alphabet[] = "0123456789abcdef";
    std::string text;
    for (std::size_t i = 0; i < digits; ++i) text += alphabet[below(16)];
    return text;
  }

  scenario group(const std::string& id, const std::string& assignor) {
    scenario s{id, assignor, {}, {}, false};
    std::vector<std::string> topics = topic_names;
    const std::size_t topic_count = 1 + below(6);
    for (std::size_t t = 0; t < topic_count; ++t) {
      const std::size_t pick = below(topics.size());
      s.counts[topics[pick]] = static_cast<std::int32_t>(1 + below(12));
      topics.erase(topics.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    std::vector<std::string> candidates;
    for (const auto& [topic, count] : s.counts) candidates.push_back(topic);
    if (chance(8)) candidates.push_back(topics.front());  // subscribed, unknown to the metadata

    s.equal_subscriptions = chance(2);
    const std::vector<std::string> shared = subset(candidates);
    const std::size_t member_count = 1 + below(10);
    const std::int32_t generation = static_cast<std::int32_t>(5 + below(20));
    for (std::size_t m = 0; m < member_count; ++m) {
      kc::member_subscription member;
      member.member_id = "consumer-" + hex(1) + "-" + std::to_string(m);
      if (chance(4)) member.group_instance_id = "instance-" + hex(2) + std::to_string(m);
      member.topics = s.equal_subscriptions ? shared : subset(candidates);
      if (assignor == "cooperative-sticky") {
        const std::uint64_t age = below(10);
        member.generation_id = age < 6   ? generation
                               : age < 9 ? generation - static_cast<std::int32_t>(1 + below(3))
                                         : -1;
      }
      s.members.push_back(std::move(member));
    }
    if (assignor == "cooperative-sticky") claim_partitions(s);
    return s;
  }

 private:
  std::vector<std::string> subset(const std::vector<std::string>& from) {
    std::vector<std::string> chosen;
    for (const auto& topic : from) {
      if (!chance(3)) chosen.push_back(topic);
    }
    if (chosen.empty()) chosen.push_back(from[below(from.size())]);
    return chosen;
  }

  // Most partitions owned by someone (not always a subscriber), a few by two members.
  void claim_partitions(scenario& s) {
    const bool fresh_group = chance(6);
    for (const auto& [topic, count] : s.counts) {
      for (std::int32_t p = 0; p < count; ++p) {
        if (fresh_group || chance(4)) continue;
        s.members[below(s.members.size())].owned_partitions.push_back({topic, p});
        if (chance(12)) s.members[below(s.members.size())].owned_partitions.push_back({topic, p});
      }
    }
    for (auto& member : s.members) {
      std::sort(member.owned_partitions.begin(), member.owned_partitions.end());
      member.owned_partitions.erase(
          std::unique(member.owned_partitions.begin(), member.owned_partitions.end()),
          member.owned_partitions.end());
    }
  }

  std::mt19937_64 random_;
};

std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "-";
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

std::string partitions_text(const std::vector<kc::topic_partition>& partitions) {
  std::vector<std::string> items;
  for (const auto& tp : partitions) items.push_back(tp.topic + ":" + std::to_string(tp.partition));
  return join(items);
}

// The harness's input line (see tests/interop/java/.../Assignors.java).
std::string scenario_line(const scenario& s) {
  std::vector<std::string> counts;
  for (const auto& [topic, count] : s.counts) counts.push_back(topic + ":" + std::to_string(count));
  std::string members;
  for (const auto& m : s.members) {
    members += (members.empty() ? "" : ";") + m.member_id + "/" +
               m.group_instance_id.value_or("-") + "/" + std::to_string(m.generation_id) + "/" +
               join(m.topics) + "/" + partitions_text(m.owned_partitions);
  }
  return s.id + "|" + s.assignor + "|" + join(counts) + "|" + members;
}

// The harness's output format: members sorted, each "id=topic:partition,...".
std::string assignment_text(const kc::group_assignment& assignment) {
  std::string text;
  for (const auto& [id, entry] : assignment) {
    std::vector<std::string> items;
    for (const auto& tp : entry.partitions)
      items.push_back(tp.topic + ":" + std::to_string(tp.partition));
    std::string list;
    for (const auto& item : items) list += (list.empty() ? "" : ",") + item;
    text += (text.empty() ? "" : " ") + id + "=" + list;
  }
  return text;
}

std::optional<kc::group_assignment> parse_assignment(const std::string& text) {
  kc::group_assignment assignment;
  std::stringstream in(text);
  for (std::string item; in >> item;) {
    const auto equals = item.find('=');
    if (equals == std::string::npos) return std::nullopt;
    auto& partitions = assignment[item.substr(0, equals)].partitions;
    for (const auto& tp : kwire::xcheck::split_commas(item.substr(equals + 1))) {
      const auto colon = tp.rfind(':');
      if (colon == std::string::npos) return std::nullopt;
      partitions.push_back({tp.substr(0, colon), std::stoi(tp.substr(colon + 1))});
    }
  }
  return assignment;
}

// Runs `mode --in FILE` on a jar; the output lines keyed by their first word.
std::optional<std::map<std::string, std::string>> run_java(const options& opts,
                                                           const std::string& jar,
                                                           const std::string& mode,
                                                           const fs::path& input) {
  using kwire::xcheck::shell_quoted;
  const std::string command = shell_quoted(opts.java_run) + " " + shell_quoted(jar) + " " + mode +
                              " --in " + shell_quoted(input.string());
  int exit_code = 0;
  const auto lines = kwire::xcheck::output_lines(command, &exit_code);
  if (!lines) {
    std::cout << "FAIL " << jar << ": the Java harness failed (exit " << exit_code
              << "): " << command << "\n";
    return std::nullopt;
  }
  std::map<std::string, std::string> by_id;
  for (const auto& line : *lines) {
    const auto space = line.find(' ');
    by_id[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
  }
  return by_id;
}

bool write_lines(const fs::path& file, const std::vector<std::string>& lines) {
  std::ofstream out(file);
  for (const auto& line : lines) out << line << '\n';
  return static_cast<bool>(out);
}

struct property_counts {
  std::size_t invalid = 0;     // validity or completeness
  std::size_t unbalanced = 0;  // after the follow-up round
  std::size_t unsticky = 0;    // after the follow-up round
  std::size_t threw = 0;
};

struct round_outcome {
  bool invalid = false, unbalanced = false, unsticky = false;
};

round_outcome judge(const scenario& s, const kc::group_assignment& first,
                    const kc::group_assignment& second,
                    const std::vector<kc::member_subscription>& next) {
  round_outcome outcome;
  outcome.invalid = !kt::validity_violations(s.counts, s.members, first).empty() ||
                    !kt::completeness_violations(s.counts, s.members, first, true).empty() ||
                    !kt::validity_violations(s.counts, next, second).empty() ||
                    !kt::completeness_violations(s.counts, next, second, true).empty();
  if (!outcome.invalid) {
    outcome.unbalanced = !kt::balance_violations(next, second).empty();
    outcome.unsticky = !kt::stickiness_violations(s.members, second).empty();
  }
  return outcome;
}

void print_violations(const std::string& who, const scenario& s, const kc::group_assignment& first,
                      const kc::group_assignment& second,
                      const std::vector<kc::member_subscription>& next) {
  std::vector<std::string> all = kt::validity_violations(s.counts, s.members, first);
  for (auto v : kt::completeness_violations(s.counts, s.members, first, true))
    all.push_back("round 1: " + v);
  for (auto v : kt::validity_violations(s.counts, next, second)) all.push_back("round 2: " + v);
  for (auto v : kt::balance_violations(next, second)) all.push_back("round 2 balance: " + v);
  for (auto v : kt::stickiness_violations(s.members, second))
    all.push_back("round 2 stickiness: " + v);
  std::cout << "  " << who << " " << s.id << ": " << scenario_line(s) << "\n";
  for (std::size_t i = 0; i < all.size() && i < 4; ++i) std::cout << "    " << all[i] << "\n";
}

bool check_assignors(const options& opts, const std::string& jar,
                     const std::vector<scenario>& scenarios, const fs::path& work) {
  std::vector<std::string> lines;
  for (const auto& s : scenarios) lines.push_back(scenario_line(s));
  const fs::path round1_file = work / ("assignors-" + jar + ".txt");
  if (!write_lines(round1_file, lines)) return false;
  const auto java = run_java(opts, jar, "assignors", round1_file);
  if (!java) return false;

  std::map<std::string, kc::group_assignment> kwire_first, java_first;
  std::map<std::string, std::size_t> exact, total;
  std::size_t shown = 0;
  std::size_t notes = 0;  // Java's own failures, shown for information
  bool ok = true;
  std::vector<std::string> round2_lines;
  property_counts kwire_props, java_props;
  for (const auto& s : scenarios) {
    const auto result = kc::make_assignor(s.assignor)->assign(s.counts, s.members);
    const auto java_line = java->find(s.id);
    ++total[s.assignor];
    if (java_line == java->end() || java_line->second.starts_with("ERROR")) {
      const bool cooperative = s.assignor == "cooperative-sticky";
      if (cooperative) ++java_props.threw;
      if (!cooperative ? shown++ < differences_shown : notes++ < notes_shown) {
        std::cout << "  " << (cooperative ? "note: " : "") << "Java had no assignment for "
                  << scenario_line(s) << ": "
                  << (java_line == java->end() ? "missing" : java_line->second) << "\n";
      }
      ok = ok && cooperative;
      continue;
    }
    const bool same = java_line->second == assignment_text(result);
    exact[s.assignor] += same;
    if (s.assignor != "cooperative-sticky") {
      if (!same) {
        ok = false;
        if (shown++ < differences_shown) {
          std::cout << "  " << scenario_line(s) << "\n    Java:  " << java_line->second
                    << "\n    kwire: " << assignment_text(result) << "\n";
        }
      }
      continue;
    }
    const auto parsed = parse_assignment(java_line->second);
    if (!parsed) {
      std::cout << "  unreadable Java output for " << s.id << ": " << java_line->second << "\n";
      ok = false;
      continue;
    }
    kwire_first[s.id] = result;
    java_first[s.id] = *parsed;
    // The follow-up round of each side, from that side's own first round.
    scenario java_next = s;
    java_next.id = s.id + "-2";
    java_next.members = kt::next_round(s.members, *parsed);
    round2_lines.push_back(scenario_line(java_next));
    // And Java's follow-up round from kwire's first round: the same input as kwire's.
    scenario kwire_next = s;
    kwire_next.id = s.id + "-2k";
    kwire_next.members = kt::next_round(s.members, result);
    round2_lines.push_back(scenario_line(kwire_next));
  }

  std::size_t exact_second = 0, both_exact = 0, same_input_exact = 0;
  if (!round2_lines.empty()) {
    const fs::path round2_file = work / ("assignors-round2-" + jar + ".txt");
    if (!write_lines(round2_file, round2_lines)) return false;
    const auto java_second = run_java(opts, jar, "assignors", round2_file);
    if (!java_second) return false;
    for (const auto& s : scenarios) {
      if (!kwire_first.contains(s.id)) continue;
      const auto kwire_next = kt::next_round(s.members, kwire_first[s.id]);
      const auto kwire_second = kc::make_assignor(s.assignor)->assign(s.counts, kwire_next);
      const round_outcome ours = judge(s, kwire_first[s.id], kwire_second, kwire_next);

      const auto java_next = kt::next_round(s.members, java_first[s.id]);
      const auto line = java_second->find(s.id + "-2");
      std::optional<kc::group_assignment> java_result;
      if (line != java_second->end() && !line->second.starts_with("ERROR"))
        java_result = parse_assignment(line->second);
      round_outcome theirs;
      if (!java_result) {
        ++java_props.threw;
        theirs.invalid = true;
      } else {
        theirs = judge(s, java_first[s.id], *java_result, java_next);
        if (assignment_text(java_first[s.id]) == assignment_text(kwire_first[s.id])) {
          ++both_exact;
          exact_second += assignment_text(*java_result) == assignment_text(kwire_second);
        }
      }
      // Java on kwire's own follow-up input: does Java's algorithm do better there?
      const auto same_line = java_second->find(s.id + "-2k");
      bool have_same_input = false;  // Java gave a valid follow-up round from kwire's first
      round_outcome same_input;
      if (same_line != java_second->end() && !same_line->second.starts_with("ERROR")) {
        if (const auto parsed = parse_assignment(same_line->second)) {
          same_input = judge(s, kwire_first[s.id], *parsed, kwire_next);
          have_same_input = !same_input.invalid;
          same_input_exact += same_line->second == assignment_text(kwire_second);
        }
      }
      kwire_props.invalid += ours.invalid;
      kwire_props.unbalanced += ours.unbalanced;
      kwire_props.unsticky += ours.unsticky;
      java_props.invalid += theirs.invalid;
      java_props.unbalanced += theirs.unbalanced;
      java_props.unsticky += theirs.unsticky;
      // kwire fails on an invalid result, on imbalance where subscriptions are equal, and on
      // imbalance or stickiness that Java avoids given the same follow-up input (or, when
      // Java fails on that input, from its own first round).
      const auto java_avoids = [&](bool round_outcome::*property) {
        if (have_same_input) return !(same_input.*property);
        return !theirs.invalid && !(theirs.*property);
      };
      const bool kwire_worse = ours.invalid || (ours.unbalanced && s.equal_subscriptions) ||
                               (ours.unbalanced && java_avoids(&round_outcome::unbalanced)) ||
                               (ours.unsticky && java_avoids(&round_outcome::unsticky));
      if (kwire_worse) {
        ok = false;
        if (shown++ < differences_shown)
          print_violations("kwire", s, kwire_first[s.id], kwire_second, kwire_next);
      } else if ((ours.unbalanced || ours.unsticky) && notes++ < notes_shown) {
        print_violations("note: kwire (Java as well)", s, kwire_first[s.id], kwire_second,
                         kwire_next);
      } else if ((theirs.invalid || theirs.unbalanced || theirs.unsticky) && java_result &&
                 notes++ < notes_shown) {
        print_violations("note: Java (kwire fine)", s, java_first[s.id], *java_result, java_next);
      }
    }
  }

  std::cout << (ok ? "PASS" : "FAIL") << " kafka-clients " << jar << ":";
  for (const auto& name : {"range", "roundrobin"}) {
    std::cout << " " << name << " " << exact[name] << "/" << total[name] << " identical;";
  }
  const std::size_t sticky_total = total["cooperative-sticky"];
  std::cout << " cooperative-sticky " << exact["cooperative-sticky"] << "/" << sticky_total
            << " identical (follow-up round identical in " << exact_second << " of those "
            << both_exact << ", Java's follow-up round from kwire's first identical to kwire's in "
            << same_input_exact << ")"
            << "; violations (invalid/unbalanced/unsticky, follow-up round) kwire "
            << kwire_props.invalid << "/" << kwire_props.unbalanced << "/" << kwire_props.unsticky
            << ", Java " << java_props.invalid << "/" << java_props.unbalanced << "/"
            << java_props.unsticky << ", Java threw " << java_props.threw << "\n";
  return ok;
}

std::string hex_of(const std::vector<std::uint8_t>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::uint8_t byte : bytes) {
    hex += digits[byte >> 4];
    hex += digits[byte & 0xf];
  }
  return hex;
}

std::vector<std::uint8_t> bytes_of_hex(const std::string& hex) {
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

struct protocol_case {
  std::string id;
  bool subscription = true;
  std::int16_t version = 0;
  kc::member_subscription member;
  kc::member_assignment assignment;
};

std::vector<std::uint8_t> kwire_bytes(const protocol_case& c) {
  std::vector<std::uint8_t> out;
  const auto ec = c.subscription ? kc::encode_subscription(c.member, c.version, out)
                                 : kc::encode_assignment(c.assignment, c.version, out);
  if (ec) out.clear();
  return out;
}

bool check_consumer_protocol(const options& opts, const std::string& jar,
                             const std::vector<scenario>& scenarios, const fs::path& work) {
  generator random(opts.seed ^ 0x5eed);
  std::vector<protocol_case> cases;
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < scenarios.size() && cases.size() < 160; i += 7) {
    const auto& s = scenarios[i];
    const auto assignment = kc::make_assignor(s.assignor)->assign(s.counts, s.members);
    for (std::int16_t version = 0; version <= 3; ++version) {
      protocol_case sub{
          s.id + "-s" + std::to_string(version), true, version, s.members.front(), {}};
      if (random.chance(2))
        sub.member.user_data = bytes_of_hex(random.hex(2 * (1 + random.below(6))));
      if (random.chance(2)) sub.member.rack_id = "rack-" + random.hex(2);
      std::shuffle(sub.member.topics.begin(), sub.member.topics.end(),
                   std::mt19937_64(random.below(1000)));
      std::shuffle(sub.member.owned_partitions.begin(), sub.member.owned_partitions.end(),
                   std::mt19937_64(random.below(1000)));
      lines.push_back(sub.id + "|sub|" + std::to_string(version) + "|" + join(sub.member.topics) +
                      "|" + (sub.member.user_data.empty() ? "-" : hex_of(sub.member.user_data)) +
                      "|" + partitions_text(sub.member.owned_partitions) + "|" +
                      std::to_string(sub.member.generation_id) + "|" +
                      sub.member.rack_id.value_or("-"));
      cases.push_back(sub);

      protocol_case asg{
          s.id + "-a" + std::to_string(version), false, version, {}, assignment.begin()->second};
      // Unsorted, as a custom assignor may return them: the grouping must follow Java's.
      std::shuffle(asg.assignment.partitions.begin(), asg.assignment.partitions.end(),
                   std::mt19937_64(random.below(1000)));
      if (random.chance(2)) asg.assignment.user_data = bytes_of_hex(random.hex(8));
      lines.push_back(asg.id + "|asg|" + std::to_string(version) + "|" +
                      partitions_text(asg.assignment.partitions) + "|" +
                      (asg.assignment.user_data.empty() ? "-" : hex_of(asg.assignment.user_data)));
      cases.push_back(asg);
    }
  }
  const fs::path file = work / ("consumer-protocol-" + jar + ".txt");
  if (!write_lines(file, lines)) return false;
  const auto java = run_java(opts, jar, "consumer-protocol", file);
  if (!java) return false;
  std::size_t same = 0, decoded_back = 0;
  std::size_t shown = 0;
  for (const auto& c : cases) {
    const auto it = java->find(c.id);
    const std::string ours = hex_of(kwire_bytes(c));
    if (it != java->end() && it->second == ours) {
      ++same;
    } else if (shown++ < differences_shown) {
      std::cout << "  " << c.id << ": Java " << (it == java->end() ? "(none)" : it->second)
                << "\n    kwire " << ours << "\n";
    }
    if (it == java->end()) continue;
    // kwire reads Java's bytes back to the same encoding.
    const auto java_bytes = bytes_of_hex(it->second);
    protocol_case reread = c;
    std::int16_t version = -1;
    const auto ec = c.subscription ? kc::decode_subscription(java_bytes, reread.member, &version)
                                   : kc::decode_assignment(java_bytes, reread.assignment, &version);
    if (!ec && version == c.version && hex_of(kwire_bytes(reread)) == it->second) ++decoded_back;
  }
  const bool ok = same == cases.size() && decoded_back == cases.size();
  std::cout << (ok ? "PASS" : "FAIL") << " kafka-clients " << jar
            << ": consumer protocol bytes identical for " << same << "/" << cases.size()
            << " (subscription and assignment, versions 0-3), kwire decodes " << decoded_back << "/"
            << cases.size() << " of Java's back to the same bytes\n";
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  opts.seed = 20261129;
  opts.count = 1000;
  if (const int exit_code =
          kwire::xcheck::start(argc, argv, "kwire-xcheck-assignors", "--scenarios", opts)) {
    return exit_code;
  }
  const auto work = kwire::xcheck::work_directory(opts.work_dir, "kwire-xcheck-assignors");
  if (!work) {
    std::perror("mkdtemp");
    return 1;
  }
  std::cout << "seed " << opts.seed << ", " << opts.count << " groups per assignor" << std::endl;

  generator random(opts.seed);
  std::vector<scenario> scenarios;
  for (std::size_t i = 0; i < opts.count; ++i) {
    for (const auto& name : assignor_names)
      scenarios.push_back(random.group(name.substr(0, 2) + std::to_string(i), name));
  }

  bool ok = true;
  for (const auto& jar : opts.jars) {
    ok = check_assignors(opts, jar, scenarios, *work) && ok;
    ok = check_consumer_protocol(opts, jar, scenarios, *work) && ok;
    std::cout.flush();
  }
  if (opts.work_dir.empty()) fs::remove_all(*work);
  std::cout << (ok ? "assignor cross-check: all passed" : "assignor cross-check: FAILED") << "\n";
  return ok ? 0 : 1;
}
