#include "service/agent/service_binding.hpp"

#include <fcntl.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "service/fs/atomic_file.hpp"
#include "service/fs/storage_error.hpp"
#include "service/log.hpp"
#include "service/pki/writer.hpp"
#include "service/process/run_command.hpp"
#include "service/try.hpp"

namespace certdeploy::agent {
namespace {

Error bad(const std::string& service, const std::string& key, const std::string& expected) {
    return make_error(ErrorCode::invalid_config, "services." + service + "." + key + ": expected " + expected);
}

std::optional<std::filesystem::path> optional_path(const nlohmann::json& spec, const char* key) {
    if (!spec.contains(key)) {
        return std::nullopt;
    }
    return std::filesystem::path(spec[key].get<std::string>());
}

struct PlannedFile {
    std::filesystem::path path;
    Secret bytes;
};

// The previous state of one target file, to put back on failure.
struct Previous {
    std::filesystem::path path;
    bool existed = false;
    Secret bytes;
    mode_t mode = 0600;
    uid_t uid = 0;
    gid_t gid = 0;
};

Result<Previous> snapshot(const std::filesystem::path& path) {
    Previous previous{path, false, Secret(), 0600, 0, 0};
    // Never follow a link or block on a FIFO planted where a service file belongs: only a regular file counts.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return previous;
        }
        if (errno == ELOOP) {
            return make_error(ErrorCode::io_error,
                              path.string() + " is a symbolic link; certdeploy will not write through it");
        }
        return fs::storage_error(errno, "cannot read " + path.string());
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(ErrorCode::io_error,
                          path.string() + " is not a regular file; certdeploy will not replace it");
    }
    std::string bytes;
    char buf[16 * 1024];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && bytes.size() < 16 * 1024 * 1024) {
        bytes.append(buf, static_cast<std::size_t>(n));
    }
    OPENSSL_cleanse(buf, sizeof buf);
    ::close(fd);
    previous.existed = true;
    previous.bytes.assign(bytes);
    wipe(bytes);
    previous.mode = st.st_mode & 07777;
    previous.uid = st.st_uid;
    previous.gid = st.st_gid;
    return previous;
}

Result<void> write_owned(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                         std::optional<uid_t> uid, std::optional<gid_t> gid) {
    CERTDEPLOY_TRY(fs::write_file_atomically(path, bytes, mode));
    if ((uid || gid) &&
        ::chown(path.c_str(), uid.value_or(static_cast<uid_t>(-1)), gid.value_or(static_cast<gid_t>(-1))) != 0) {
        return fs::storage_error(errno, "cannot set the owner of " + path.string());
    }
    return {};
}

void restore(const std::vector<Previous>& previous) {
    for (const auto& p : previous) {
        if (!p.existed) {
            ::unlink(p.path.c_str());
            continue;
        }
        if (auto written = write_owned(p.path, p.bytes.reveal(), p.mode, p.uid, p.gid); !written) {
            log::error("cannot restore a service file",
                       {{"path", p.path.string()}, {"error", written.error().message}});
        }
    }
}

Result<std::vector<PlannedFile>> plan(const ServiceBinding& b, const pki::Bundle& bundle, const pki::PkiContext& ctx) {
    if (!bundle.key) {
        return make_error(ErrorCode::no_private_key, "the certificate has no private key, so no service can use it");
    }
    CERTDEPLOY_TRY_ASSIGN(auto pem, pki::write_pem(bundle));
    std::vector<PlannedFile> files;
    switch (b.layout) {
        case Layout::pem_fullchain:
            files.push_back({b.certFile, Secret(pem.certificate + pem.chain)});
            files.push_back({*b.keyFile, Secret(pem.key.reveal())});
            break;
        case Layout::pem_separate:
            files.push_back({b.certFile, Secret(pem.certificate)});
            files.push_back({*b.chainFile, Secret(pem.chain)});
            files.push_back({*b.keyFile, Secret(pem.key.reveal())});
            break;
        case Layout::pem_combined: {
            std::string combined;
            combined.reserve(pem.key.size() + pem.certificate.size() + pem.chain.size());
            combined.append(pem.key.reveal()).append(pem.certificate).append(pem.chain);
            files.push_back({b.certFile, Secret(combined)});
            wipe(combined);
        } break;
        case Layout::pkcs12: {
            CERTDEPLOY_TRY_ASSIGN(auto password_text, fs::read_file(*b.passwordFile, 4096));
            const Secret password(std::string_view(password_text).substr(0, password_text.find_first_of("\r\n")));
            wipe(password_text);
            CERTDEPLOY_TRY_ASSIGN(auto p12, pki::write_pkcs12(bundle, password, pki::Pkcs12Profile::modern, ctx));
            files.push_back({b.certFile, Secret(p12)});
            break;
        }
    }
    return files;
}

}  // namespace

Result<std::map<std::string, ServiceBinding>> parse_services(const nlohmann::json& services) {
    std::map<std::string, ServiceBinding> out;
    if (services.is_null()) {
        return out;
    }
    if (!services.is_object()) {
        return make_error(ErrorCode::invalid_config, "services: expected an object of service names");
    }
    static const std::vector<std::string> kKeys = {
        "certFile", "keyFile", "chainFile", "passwordFile", "layout",
        "owner",    "group",   "mode",      "reload",       "reloadTimeoutSeconds"};
    for (const auto& [name, spec] : services.items()) {
        if (!spec.is_object()) {
            return bad(name, "", "an object");
        }
        for (const auto& [key, value] : spec.items()) {
            if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
                return bad(name, key,
                           "one of certFile, keyFile, chainFile, passwordFile, layout, owner, group, mode, "
                           "reload, reloadTimeoutSeconds (unknown key)");
            }
            const bool is_path = key == "certFile" || key == "keyFile" || key == "chainFile" || key == "passwordFile";
            if (is_path &&
                (!value.is_string() || value.get<std::string>().empty() || value.get<std::string>().front() != '/')) {
                return bad(name, key, "an absolute file path");
            }
        }
        ServiceBinding b;
        b.name = name;
        // (Not spec.value("layout", ...): a layout of another type threw, and the agent ended at start; the
        // configuration's fuzz target, tests/fuzz/config_fuzz.cpp, reports it.)
        const auto layout_it = spec.find("layout");
        const std::string layout = layout_it == spec.end()  ? "pem-fullchain"
                                   : layout_it->is_string() ? layout_it->get<std::string>()
                                                            : "";  // refused below with the others
        if (layout == "pem-fullchain") {
            b.layout = Layout::pem_fullchain;
        } else if (layout == "pem-separate") {
            b.layout = Layout::pem_separate;
        } else if (layout == "pem-combined") {
            b.layout = Layout::pem_combined;
        } else if (layout == "pkcs12") {
            b.layout = Layout::pkcs12;
        } else {
            return bad(name, "layout", "one of pem-fullchain, pem-separate, pem-combined, pkcs12");
        }
        if (!spec.contains("certFile")) {
            return bad(name, "certFile", "an absolute file path (required)");
        }
        b.certFile = spec["certFile"].get<std::string>();
        b.keyFile = optional_path(spec, "keyFile");
        b.chainFile = optional_path(spec, "chainFile");
        b.passwordFile = optional_path(spec, "passwordFile");
        if ((b.layout == Layout::pem_fullchain || b.layout == Layout::pem_separate) && !b.keyFile) {
            return bad(name, "keyFile", "an absolute file path (the " + layout + " layout needs one)");
        }
        if (b.layout == Layout::pem_separate && !b.chainFile) {
            return bad(name, "chainFile", "an absolute file path (the pem-separate layout needs one)");
        }
        if (b.layout == Layout::pkcs12 && !b.passwordFile) {
            return bad(name, "passwordFile", "an absolute file path (the pkcs12 layout needs one)");
        }
        if (spec.contains("owner")) {
            if (!spec["owner"].is_string()) {
                return bad(name, "owner", "a user name");
            }
            const passwd* pw = ::getpwnam(spec["owner"].get<std::string>().c_str());  // NOLINT: read at start only
            if (pw == nullptr) {
                return bad(name, "owner", "a user that exists on this server");
            }
            b.owner = pw->pw_uid;
        }
        if (spec.contains("group")) {
            if (!spec["group"].is_string()) {
                return bad(name, "group", "a group name");
            }
            const group* gr = ::getgrnam(spec["group"].get<std::string>().c_str());  // NOLINT: read at start only
            if (gr == nullptr) {
                return bad(name, "group", "a group that exists on this server");
            }
            b.group = gr->gr_gid;
        }
        if (spec.contains("mode")) {
            const auto& mode = spec["mode"];
            char* end = nullptr;
            const std::string text = mode.is_string() ? mode.get<std::string>() : "";
            const unsigned long value = std::strtoul(text.c_str(), &end, 8);
            if (text.empty() || *end != '\0' || value > 0777) {
                return bad(name, "mode", "an octal string such as \"0640\"");
            }
            b.mode = static_cast<mode_t>(value);
        }
        if (spec.contains("reload")) {
            const auto& reload = spec["reload"];
            if (!reload.is_array() || reload.empty() ||
                !std::all_of(reload.begin(), reload.end(), [](const auto& a) { return a.is_string(); })) {
                return bad(name, "reload", "an argument vector such as [\"systemctl\", \"reload\", \"nginx\"]");
            }
            b.reload = reload.get<std::vector<std::string>>();
        }
        if (spec.contains("reloadTimeoutSeconds")) {
            const auto& t = spec["reloadTimeoutSeconds"];
            if (!t.is_number() || t.get<double>() <= 0 || t.get<double>() > 3600) {
                return bad(name, "reloadTimeoutSeconds", "a number of seconds from 0 to 3600");
            }
            b.reloadTimeout = std::chrono::milliseconds(static_cast<long long>(t.get<double>() * 1000));
        }
        out.emplace(name, std::move(b));
    }
    return out;
}

Result<void> apply_binding(const ServiceBinding& binding, const pki::Bundle& bundle, const pki::PkiContext& ctx) {
    CERTDEPLOY_TRY_ASSIGN(auto files, plan(binding, bundle, ctx));
    std::vector<Previous> previous;
    for (const auto& file : files) {
        CERTDEPLOY_TRY_ASSIGN(auto snap, snapshot(file.path));
        previous.push_back(std::move(snap));
    }
    for (const auto& file : files) {
        if (auto written = write_owned(file.path, file.bytes.reveal(), binding.mode, binding.owner, binding.group);
            !written) {
            restore(previous);
            return written.error();
        }
    }
    if (binding.reload.empty()) {
        return {};
    }
    auto reloaded = process::run_command(binding.reload, binding.reloadTimeout);
    if (reloaded && reloaded->succeeded()) {
        return {};
    }
    // The service refused the new files (or hung): put the old ones back and reload it onto them.
    restore(previous);
    auto again = process::run_command(binding.reload, binding.reloadTimeout);
    const bool restored_ok = again && again->succeeded();
    std::string message = "the reload command of service " + binding.name + " ";
    if (!reloaded) {
        message += "could not be started: " + reloaded.error().message;
    } else {
        message += "failed (" + reloaded->describe() + "); the previous files were put back";
        message += restored_ok ? " and reloaded" : ", but reloading them failed too";
    }
    Error error = make_error(ErrorCode::reload_failed, message);
    if (reloaded) {
        error.detail = reloaded->output_tail;
    }
    return error;
}

}  // namespace certdeploy::agent
