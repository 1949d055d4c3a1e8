// The agent's certificate store: all-or-nothing changes, even when the process dies between any two steps.

#include "store/certificate_directory_store.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using certdeploy::store::CertificateDirectoryStore;
using certdeploy::store::StoredFile;
using certdeploy::test::TempDir;

namespace {

struct SimulatedCrash {};

std::vector<StoredFile> version(const std::string& tag) {
    return {{"certificate.pem", "cert-" + tag, 0600}, {"key.pem", "key-" + tag, 0600}, {"metadata.json", tag, 0600}};
}

// The entry's contents as "cert|key|meta", or "" when absent.
std::string contents(const CertificateDirectoryStore& store, const std::string& id) {
    auto files = store.get(id);
    REQUIRE(files.has_value());
    if (!*files) {
        return "";
    }
    std::map<std::string, std::string> by_name;
    for (const auto& f : **files) {
        by_name[f.name] = f.bytes;
    }
    return by_name["certificate.pem"] + "|" + by_name["key.pem"] + "|" + by_name["metadata.json"];
}

// Leftover temporary or trash directories.
std::size_t hidden_entries(const std::filesystem::path& root) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(root)) {
        n += e.path().filename().string().front() == '.' ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("put, get, list, replace and remove") {
    TempDir dir;
    CertificateDirectoryStore store(dir / "store");
    REQUIRE(store.open().has_value());
    struct stat st {};
    ::stat((dir / "store").c_str(), &st);
    CHECK((st.st_mode & 0777) == 0700);

    REQUIRE(store.put("AAA", version("1")).has_value());
    CHECK(contents(store, "AAA") == "cert-1|key-1|1");
    ::stat((dir / "store" / "AAA" / "key.pem").c_str(), &st);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(store.put("BBB", version("b")).has_value());
    CHECK(store.list().value() == std::vector<std::string>{"AAA", "BBB"});

    REQUIRE(store.put("AAA", version("2")).has_value());
    CHECK(contents(store, "AAA") == "cert-2|key-2|2");
    CHECK(hidden_entries(dir / "store") == 0);

    CHECK(store.remove("AAA").value() == true);
    CHECK(store.remove("AAA").value() == false);
    CHECK(contents(store, "AAA").empty());
    CHECK(store.list().value() == std::vector<std::string>{"BBB"});
    CHECK(contents(store, "../etc").empty());  // names that are not plain entries are never followed
    CHECK_FALSE(store.put("../escape", version("x")).has_value());
}

TEST_CASE("a crash between any two steps leaves the old state or the new one, never half of either") {
    struct Scenario {
        std::string name;
        bool existed;   // an old version was there
        bool removing;  // the change is a removal
    };
    for (const auto& scenario :
         {Scenario{"install", false, false}, Scenario{"replace", true, false}, Scenario{"remove", true, true}}) {
        CAPTURE(scenario.name);
        // Count the steps of this change once, then crash at each of them in turn.
        std::vector<std::string> steps;
        {
            TempDir dir;
            CertificateDirectoryStore store(dir / "s");
            REQUIRE(store.open().has_value());
            if (scenario.existed) {
                REQUIRE(store.put("ID", version("old")).has_value());
            }
            store.crash_point = [&](std::string_view step) { steps.emplace_back(step); };
            if (scenario.removing) {
                REQUIRE(store.remove("ID").has_value());
            } else {
                REQUIRE(store.put("ID", version("new")).has_value());
            }
        }
        REQUIRE(steps.size() >= 2);
        for (std::size_t crash_at = 0; crash_at < steps.size(); ++crash_at) {
            CAPTURE(steps[crash_at]);
            TempDir dir;
            {
                CertificateDirectoryStore store(dir / "s");
                REQUIRE(store.open().has_value());
                if (scenario.existed) {
                    REQUIRE(store.put("ID", version("old")).has_value());
                }
                std::size_t seen = 0;
                store.crash_point = [&](std::string_view) {
                    if (seen++ == crash_at) {
                        throw SimulatedCrash{};
                    }
                };
                CHECK_THROWS_AS(scenario.removing ? (void)store.remove("ID") : (void)store.put("ID", version("new")),
                                SimulatedCrash);
            }
            // A new process opens the store: it recovers, and the entry is wholly old, wholly new, or gone
            // (for a removal, or an install that had not landed).
            CertificateDirectoryStore reopened(dir / "s");
            REQUIRE(reopened.open().has_value());
            const auto now = contents(reopened, "ID");
            const std::string old_state = scenario.existed ? "cert-old|key-old|old" : "";
            const std::string new_state = scenario.removing ? "" : "cert-new|key-new|new";
            CHECK((now == old_state || now == new_state));
            CHECK(hidden_entries(dir / "s") == 0);
        }
    }
}

// A real full disk and a real read-only file system: a 64 KiB tmpfs (CI and the developers' machines run as
// root, as the README's commands require).
struct TinyFilesystem {
    TempDir dir;
    std::filesystem::path mount_point = dir / "fs";
    TinyFilesystem() {
        std::filesystem::create_directories(mount_point);
        REQUIRE(run("/bin/mount", {"-t", "tmpfs", "-o", "size=64k", "tmpfs", mount_point.string()}) == 0);
    }
    ~TinyFilesystem() { run("/bin/umount", {mount_point.string()}); }
    void remount_read_only() const { REQUIRE(run("/bin/mount", {"-o", "remount,ro", mount_point.string()}) == 0); }
    int run(const std::string& binary, const std::vector<std::string>& args) const {
        certdeploy::test::ChildProcess child(binary, args, dir.path());
        auto status = child.wait_for_exit(std::chrono::seconds(10));
        return status ? status->code : -1;
    }
};

TEST_CASE("a full disk and a read-only file system are refused with their errno, and the old entry stays whole") {
    TinyFilesystem tiny;
    CertificateDirectoryStore store(tiny.mount_point / "store");
    REQUIRE(store.open().has_value());
    REQUIRE(store.put("ID", version("old")).has_value());

    auto big = version("new");
    big[0].bytes = std::string(200 * 1024, 'x');  // more than the file system holds
    auto full = store.put("ID", big);
    REQUIRE_FALSE(full.has_value());
    CHECK(full.error().err == ENOSPC);
    CHECK(contents(store, "ID") == "cert-old|key-old|old");
    CHECK(hidden_entries(tiny.mount_point / "store") == 0);  // the half-written temporary directory is gone

    tiny.remount_read_only();
    auto read_only = store.put("ID", version("new"));
    REQUIRE_FALSE(read_only.has_value());
    CHECK(read_only.error().err == EROFS);
    auto remove = store.remove("ID");
    REQUIRE_FALSE(remove.has_value());
    CHECK(remove.error().err == EROFS);
    CHECK(contents(store, "ID") == "cert-old|key-old|old");
}
