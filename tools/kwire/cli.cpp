#include "cli.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>

#include "kwire/client/topic_name.hpp"

namespace kwire::cli {

void parse_options(std::span<const std::string_view> args, std::span<const option> options) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    std::string_view name;
    std::optional<std::string_view> attached_value;
    const option* found = nullptr;
    if (arg.starts_with("--") && arg.size() > 2) {
      const auto equals = arg.find('=');
      name = arg.substr(0, equals);
      if (equals != std::string_view::npos) attached_value = arg.substr(equals + 1);
      for (const auto& o : options)
        if (!o.long_name.empty() && o.long_name == name) found = &o;
    } else if (arg.size() >= 2 && arg[0] == '-') {
      name = arg.substr(0, 2);
      if (arg.size() > 2) attached_value = arg.substr(2);
      for (const auto& o : options)
        if (!o.short_name.empty() && o.short_name == name) found = &o;
    } else {
      throw usage_error("unexpected argument '" + std::string(arg) + "'");
    }
    if (!found) throw usage_error("unknown option '" + std::string(arg) + "'");
    if (found->value_name.empty()) {
      if (attached_value) throw usage_error("option " + std::string(name) + " takes no value");
      found->apply({});
    } else if (attached_value) {
      found->apply(*attached_value);
    } else if (i + 1 < args.size()) {
      found->apply(args[++i]);
    } else {
      throw usage_error("option " + std::string(name) + " needs a value (" +
                        std::string(found->value_name) + ")");
    }
  }
}

std::vector<option> offline_options(bool& json, bool& help) {
  return {
      {"", "--json", "", [&json](std::string_view) { json = true; }},
      {"-h", "--help", "", [&help](std::string_view) { help = true; }},
      {"-d", "--debug", "CATEGORY[,CATEGORY]",
       [](std::string_view v) {
         client::log_categories ignored;
         if (auto error = client::parse_log_categories(v, ignored, "-d"))
           throw usage_error(error->message);
       }},
  };
}

std::vector<std::string_view> take_positionals(
    std::span<const std::string_view> args, std::span<const std::string_view> options_with_values,
    std::vector<std::string>& positionals) {
  std::vector<std::string_view> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positionals.emplace_back(arg);
      continue;
    }
    rest.push_back(arg);
    if (std::find(options_with_values.begin(), options_with_values.end(), arg) !=
            options_with_values.end() &&
        i + 1 < args.size())
      rest.push_back(args[++i]);
  }
  return rest;
}

std::pair<std::string, std::string> split_property(std::string_view assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string_view::npos || equals == 0)
    throw usage_error("-X expects PROPERTY=VALUE, got '" + std::string(assignment) + "'");
  return {std::string(assignment.substr(0, equals)), std::string(assignment.substr(equals + 1))};
}

std::string unescape_delimiter(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char escaped = text[i + 1];
    if (escaped == 'n' || escaped == 't' || escaped == 'r' || escaped == '\\') {
      out += escaped == 'n' ? '\n' : escaped == 't' ? '\t' : escaped == 'r' ? '\r' : '\\';
      ++i;
    } else if (escaped == 'x') {
      unsigned value = 0;
      const char* digits = text.data() + i + 2;
      const char* end = text.data() + std::min(text.size(), i + 4);
      const auto [stop, ec] = std::from_chars(digits, end, value, 16);
      if (ec != std::errc{} || stop == digits)
        throw usage_error("'\\x' in a delimiter needs one or two hex digits");
      out += static_cast<char>(value);
      i += 1 + static_cast<std::size_t>(stop - digits);
    } else {
      out += text[i];
    }
  }
  return out;
}

void check_topic_name(std::string_view topic) {
  if (auto problem = client::topic_name_problem(topic))
    throw usage_error("-t: '" + std::string(topic) + "' is not a valid topic name: it " + *problem);
}

std::string count_of(std::uint64_t count, std::string_view singular) {
  return std::to_string(count) + " " + std::string(singular) + (count == 1 ? "" : "s");
}

std::int32_t parse_int32(std::string_view text, std::string_view what) {
  std::int32_t value = 0;
  const auto [stop, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || stop != text.data() + text.size() || text.empty())
    throw usage_error(std::string(what) + ": '" + std::string(text) + "' is not an int32");
  return value;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void print_properties(std::ostream& out,
                      const std::vector<client::property_description>& properties) {
  for (const auto& p : properties) {
    out << p.name << " (" << p.type;
    if (p.required) out << ", required";
    if (p.default_value) out << ", default " << *p.default_value;
    if (!p.allowed.empty()) out << ", allowed " << p.allowed;
    out << ")\n    " << p.doc << '\n';
  }
}

bool is_security_refusal(std::error_code ec) {
  using protocol::broker_error;
  return ec == client::errc::tls_handshake_failed || ec == client::errc::kerberos_failed ||
         ec == protocol::broker_error_code(
                   static_cast<std::int16_t>(broker_error::sasl_authentication_failed)) ||
         ec == protocol::broker_error_code(
                   static_cast<std::int16_t>(broker_error::unsupported_sasl_mechanism)) ||
         ec == protocol::broker_error_code(
                   static_cast<std::int16_t>(broker_error::illegal_sasl_state));
}

void check_security_files(const client::common_config& config) {
  try {
    (void)client::cluster_options_for(config);
  } catch (const std::invalid_argument& e) {
    throw property_error(e.what());
  }
}

std::string describe_unreachable(const std::vector<client::unreachable_server>& servers) {
  std::string out = "no bootstrap server reachable: ";
  for (std::size_t i = 0; i < servers.size(); ++i) {
    if (i > 0) out += "; ";
    out += servers[i].address + ": " + servers[i].error.message();
    if (!servers[i].detail.empty()) out += " (" + servers[i].detail + ")";
  }
  return out;
}

bootstrap_probe::bootstrap_probe(boost::asio::io_context& io, const client::common_config& config,
                                 std::function<void(std::string)> on_unreachable)
    : io_(io) {
  auto options = client::cluster_options_for(config);
  options.allow_auto_topic_creation = false;
  cluster_ = client::cluster::create(io.get_executor(), std::move(options));
  // The cluster is used on the io thread only.
  boost::asio::post(io, [cluster = cluster_, on_unreachable = std::move(on_unreachable)] {
    std::weak_ptr<client::cluster> weak = cluster;
    cluster->on_metadata([weak](const client::cluster_metadata&) {
      if (auto c = weak.lock()) c->close();  // reachable: nothing more to watch
    });
    cluster->on_connection([weak, on_unreachable](std::int32_t, std::error_code ec) {
      auto c = weak.lock();
      if (!c || !ec) return;
      // A refused login or certificate will not change by retrying: give up as soon as every
      // bootstrap server has failed once.
      const auto servers = c->unreachable_bootstrap(
          is_security_refusal(ec) ? std::chrono::milliseconds(0) : bootstrap_give_up_after);
      if (servers.empty()) return;
      c->close();  // no further connection results: this runs once
      on_unreachable(describe_unreachable(servers));
    });
    cluster->start();
  });
}

bootstrap_probe::~bootstrap_probe() {
  boost::asio::post(io_, [cluster = std::move(cluster_)] { cluster->close(); });
}

int run_command(std::string_view command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const property_error& e) {
    std::cerr << "kwire " << command << ": " << e.what() << "\n(see 'kwire " << command
              << " --help-properties')\n";
    return exit_usage;
  } catch (const usage_error& e) {
    std::cerr << "kwire " << command << ": " << e.what() << "\n(see 'kwire " << command
              << " --help')\n";
    return exit_usage;
  }
}

int run_client_command(client_command& command, std::span<const std::string_view> args,
                       std::vector<option> own_options, const std::function<int()>& body) {
  return run_command(command.name, [&] {
    bool bootstrap_given = false;
    bool help = false;
    bool help_properties = false;
    auto& options = own_options;
    options.push_back({"-b", "--bootstrap-server", "HOST:PORT", [&](std::string_view v) {
                         command.properties.emplace_back("bootstrap.servers", v);
                         bootstrap_given = true;
                       }});
    options.push_back({"-X", "--property", "NAME=VALUE", [&](std::string_view v) {
                         auto property = split_property(v);
                         bootstrap_given = bootstrap_given || property.first == "bootstrap.servers";
                         command.properties.push_back(std::move(property));
                       }});
    options.push_back({"-d", "--debug", "CATEGORY[,CATEGORY]", [&](std::string_view v) {
                         if (auto error =
                                 client::parse_log_categories(v, command.observe.debug, "-d"))
                           throw usage_error(error->message);
                         command.observe.sink = client::stderr_log_sink();
                       }});
    options.push_back({"-h", "--help", "", [&](std::string_view) { help = true; }});
    options.push_back(
        {"", "--help-properties", "", [&](std::string_view) { help_properties = true; }});
    parse_options(args, options);
    if (help) {
      std::cout << command.usage;
      return exit_ok;
    }
    if (help_properties) {
      print_properties(std::cout, command.describe_properties());
      return exit_ok;
    }
    if (!bootstrap_given) throw usage_error("-b BOOTSTRAP is required (the brokers to start from)");
    return body();
  });
}

}  // namespace kwire::cli
