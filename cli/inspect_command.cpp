// certdeploy inspect: reads one certificate file as the controller will, and prints what it found.
// Exit 0 with the summary on stdout; exit 1 with {"code", "title", "detail"} on stdout; exit 2 for usage.

#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.hpp"
#include "cli/password_input.hpp"
#include "service/fs/atomic_file.hpp"
#include "service/log.hpp"
#include "service/pki/reader.hpp"
#include "service/pki/summary.hpp"
#include "service/pki/trust.hpp"

namespace certdeploy::cli {
namespace po = boost::program_options;
namespace {

constexpr const char* kUsage =
    R"(Usage: certdeploy inspect FILE [--password-file F | --password-stdin] [--ca-file PEM]...

Reads a certificate file (PKCS #12, PEM, PKCS #7 or X.509, recognised by content) and prints its
summary as JSON: thumbprint, subject, domains, dates, key, chain and status (Valid, Untrusted,
DateInvalid, Invalid). On failure prints {"code", "title", "detail"} and exits 1.
No option takes the password itself: it would land in shell history and process listings.
)";

int failure(const Error& error) {
    nlohmann::json out = {{"code", std::string(code_string(error.code))},
                          {"title", std::string(code_title(error.code))},
                          {"detail", error.message}};
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    if (!error.detail.empty()) {
        log::debug("inspect failure detail", {{"detail", error.detail}});
    }
    return 1;
}

}  // namespace

int inspect_command(const std::vector<std::string>& args) {
    po::options_description desc("Options");
    desc.add_options()("help,h", "show this help")("password-file", po::value<std::string>()->value_name("F"),
                                                   "read the password from the first line of F")(
        "password-stdin", "read the password from the first line of standard input")(
        "ca-file", po::value<std::vector<std::string>>()->value_name("PEM"),
        "also trust the CA certificates in PEM (repeatable)")("no-system-trust",
                                                              "trust only --ca-file roots, not the system's")(
        "log-level", po::value<std::string>()->value_name("LEVEL"), "debug shows OpenSSL's own words on stderr")(
        "file", po::value<std::string>());
    po::positional_options_description positional;
    positional.add("file", 1);
    po::variables_map vm;
    try {
        const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
        po::store(po::command_line_parser(args).options(desc).positional(positional).style(style).run(), vm);
    } catch (const po::error& e) {
        std::cerr << "certdeploy inspect: " << e.what() << " (see certdeploy inspect --help)\n";
        return 2;
    }
    if (vm.count("help") != 0) {
        std::cout << kUsage << '\n' << desc;
        return 0;
    }
    if (vm.count("file") == 0) {
        std::cerr << "certdeploy inspect: no FILE given (see certdeploy inspect --help)\n";
        return 2;
    }
    if (vm.count("password-file") != 0 && vm.count("password-stdin") != 0) {
        std::cerr << "certdeploy inspect: give --password-file or --password-stdin, not both\n";
        return 2;
    }
    log::Level level = log::Level::warn;
    if (vm.count("log-level") != 0 && !log::parse_level(vm["log-level"].as<std::string>(), level)) {
        std::cerr << "certdeploy inspect: --log-level: expected one of trace, debug, info, warn, error, off\n";
        return 2;
    }
    log::init("inspect", level);

    std::optional<Secret> password;
    if (vm.count("password-file") != 0) {
        auto read = password_from_file(vm["password-file"].as<std::string>());
        if (!read) {
            return failure(read.error());
        }
        password = std::move(*read);
    } else if (vm.count("password-stdin") != 0) {
        password = password_from_stdin();
    }

    auto ctx = pki::PkiContext::create();
    if (!ctx) {
        return failure(ctx.error());
    }
    std::vector<std::filesystem::path> ca_files;
    if (vm.count("ca-file") != 0) {
        for (const auto& file : vm["ca-file"].as<std::vector<std::string>>()) {
            ca_files.emplace_back(file);
        }
    }
    auto trust = pki::TrustStore::create(*ctx, ca_files, vm.count("no-system-trust") == 0);
    if (!trust) {
        return failure(trust.error());
    }
    auto bytes = fs::read_file(vm["file"].as<std::string>(), pki::kMaxFileBytes);
    if (!bytes) {
        return failure(bytes.error());
    }
    auto bundle = pki::read_bundle(*bytes, password ? &*password : nullptr, **ctx);
    if (!bundle) {
        return failure(bundle.error());
    }
    const auto summary = pki::summarize(*bundle, (*trust)->evaluate(*bundle));
    std::cout << summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return 0;
}

}  // namespace certdeploy::cli
