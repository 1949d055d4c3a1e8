// certdeploy pki init DIR --agents NAME[,NAME...]: development material for mutual TLS.

#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "service/pki/dev_pki.hpp"

namespace certdeploy::cli {
namespace po = boost::program_options;

namespace {

constexpr const char* kUsage = R"(Usage: certdeploy pki init DIR --agents NAME[,NAME...] [--server-names NAME[,NAME...]]

Creates a private CA and the certificates for mutual TLS between the controller and its agents, and for
the controller's HTTPS API:
  DIR/ca.pem, DIR/ca.key                   the CA (clients of the API trust it: curl --cacert DIR/ca.pem)
  DIR/controller.pem, DIR/controller.key   the controller's client certificate (to the agents)
  DIR/server.pem, DIR/server.key           the controller's API certificate (SANs localhost, 127.0.0.1, ::1,
                                           this host's name and the --server-names)
  DIR/agents/NAME.pem, DIR/agents/NAME.key each agent's server certificate (SANs NAME, localhost, 127.0.0.1)
Keys are mode 0600. Running it again adds missing agents and keeps what exists.
Prints {"created": [...], "kept": [...]} on stdout.
)";

std::vector<std::string> split_names(const std::vector<std::string>& values) {
    std::vector<std::string> names;
    for (const auto& value : values) {
        std::size_t pos = 0;
        while (pos <= value.size()) {
            const auto comma = value.find(',', pos);
            const auto name = value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            if (!name.empty()) {
                names.push_back(name);
            }
            if (comma == std::string::npos) {
                break;
            }
            pos = comma + 1;
        }
    }
    return names;
}

}  // namespace

int pki_command(const std::vector<std::string>& args) {
    if (args.empty() || args.front() == "--help" || args.front() == "-h") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    if (args.front() != "init") {
        std::cerr << "certdeploy pki: unknown action '" << args.front() << "' (see certdeploy pki --help)\n";
        return 2;
    }
    po::options_description desc("Options");
    desc.add_options()("help,h", "show this help")("agents",
                                                   po::value<std::vector<std::string>>()->value_name("NAME[,NAME...]"),
                                                   "agents to issue certificates for")(
        "server-names", po::value<std::vector<std::string>>()->value_name("NAME[,NAME...]"),
        "more host names or IP addresses the controller's API is reached by")("dir", po::value<std::string>());
    po::positional_options_description positional;
    positional.add("dir", 1);
    po::variables_map vm;
    try {
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end()))
                      .options(desc)
                      .positional(positional)
                      .style(style)
                      .run(),
                  vm);
    } catch (const po::error& e) {
        std::cerr << "certdeploy pki init: " << e.what() << " (see certdeploy pki --help)\n";
        return 2;
    }
    if (vm.count("help") != 0) {
        std::cout << kUsage << '\n' << desc;
        return 0;
    }
    if (vm.count("dir") == 0) {
        std::cerr << "certdeploy pki init: no DIR given (see certdeploy pki --help)\n";
        return 2;
    }
    const auto agents =
        vm.count("agents") != 0 ? split_names(vm["agents"].as<std::vector<std::string>>()) : std::vector<std::string>{};
    auto ctx = pki::PkiContext::create();
    if (!ctx) {
        std::cerr << "certdeploy pki init: " << ctx.error().message << '\n';
        return 1;
    }
    const auto server_names = vm.count("server-names") != 0
                                  ? split_names(vm["server-names"].as<std::vector<std::string>>())
                                  : std::vector<std::string>{};
    auto report = pki::init_dev_pki(vm["dir"].as<std::string>(), agents, server_names, **ctx);
    if (!report) {
        std::cerr << "certdeploy pki init: " << report.error().message << '\n';
        return 1;
    }
    std::cout << nlohmann::json{{"created", report->created}, {"kept", report->kept}}.dump(2) << '\n';
    return 0;
}

}  // namespace certdeploy::cli
