// libFuzzer target for the configuration (config/): every input is the text of a configuration file
// (--config FILE, JSON with comments), loaded as `certdeploy server` and `certdeploy agent` load theirs, and
// then what the processes read out of it before they start: each of the controller's "servers"
// (controller::parse_server_spec), its "clientCertificates" (controller::ClientIdentities::parse), the agent's
// "services" (agent::parse_services). No flag and no environment variable is set. What must hold, for any
// bytes: a typed configuration or an invalid-config error (one line), and the same for the parts read later;
// never a crash, a leak, a hang or undefined behaviour.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/process_config.hpp"
#include "service/agent/service_binding.hpp"
#include "service/controller/access/client_identities.hpp"
#include "service/controller/server_registry.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace certdeploy;

// The file the configuration is read from: in memory, written again for each input.
struct ConfigFile {
    int fd = memfd_create("certdeploy-config-fuzz", 0);
    std::string path = "/proc/self/fd/" + std::to_string(fd);

    void write(const std::uint8_t* data, std::size_t size) const {
        fuzz::require(fd >= 0 && ftruncate(fd, 0) == 0, "the configuration file can be written");
        for (std::size_t done = 0; done < size;) {
            const auto n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
            fuzz::require(n > 0, "the configuration file can be written");
            done += static_cast<std::size_t>(n);
        }
    }
};

void check_load_error(const Error& error) {
    fuzz::require(error.code == ErrorCode::invalid_config, "a configuration is refused with invalid-config");
    fuzz::require(error.message.find('\n') == std::string::npos, "a configuration error is one line");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const ConfigFile file;
    file.write(data, size);
    const std::vector<std::string> args{"--config", file.path};
    const config::EnvLookup no_environment = [](const std::string&) -> std::optional<std::string> { return {}; };

    auto server = config::load_server_config(args, no_environment);
    if (!server) {
        check_load_error(server.error());
    } else {
        for (const auto& [name, spec] : server->servers.items()) {
            (void)controller::parse_server_spec(spec);
        }
        (void)controller::ClientIdentities::parse(server->clientCertificates);
    }

    auto agent = config::load_agent_config(args, no_environment);
    if (!agent) {
        check_load_error(agent.error());
    } else {
        (void)agent::parse_services(agent->services);
    }
    return 0;
}
