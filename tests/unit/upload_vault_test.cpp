// The sealed upload: what goes in comes out, only for its job and key, and the key file is the owner's.

#include "service/controller/upload_vault.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/support/temp_dir.hpp"

using certdeploy::controller::Upload;
using certdeploy::controller::UploadVault;
using certdeploy::test::TempDir;

TEST_CASE("a sealed upload opens for its job only, and any change to it is detected") {
    TempDir dir;
    auto vault = UploadVault::open(dir.path());
    REQUIRE(vault.has_value());
    struct stat st {};
    REQUIRE(::stat((dir / "upload.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    Upload upload;
    upload.file = std::string("\x30\x82\x00\x01secret key bytes", 20);
    upload.password.emplace("P@ssw0rd1");
    const auto sealed = vault->seal(upload, "job-1");
    CHECK(sealed.find("secret key bytes") == std::string::npos);
    CHECK(sealed.find("P@ssw0rd1") == std::string::npos);
    CHECK(vault->seal(upload, "job-1") != sealed);  // a fresh nonce every time

    auto opened = vault->unseal(sealed, "job-1");
    REQUIRE(opened.has_value());
    CHECK(opened->file == upload.file);
    REQUIRE(opened->password);
    CHECK(opened->password->reveal() == "P@ssw0rd1");

    CHECK_FALSE(vault->unseal(sealed, "job-2").has_value());  // bound to its job
    auto altered = sealed;
    altered[20] = static_cast<char>(altered[20] ^ 1);
    CHECK_FALSE(vault->unseal(altered, "job-1").has_value());
    CHECK_FALSE(vault->unseal(sealed.substr(0, 10), "job-1").has_value());

    // The same key on reopening (a restart), another key elsewhere.
    auto reopened = UploadVault::open(dir.path());
    REQUIRE(reopened.has_value());
    CHECK(reopened->unseal(sealed, "job-1").has_value());
    TempDir other;
    CHECK_FALSE(UploadVault::open(other.path())->unseal(sealed, "job-1").has_value());

    Upload no_password;
    no_password.file = "x";
    auto plain = vault->unseal(vault->seal(no_password, "j"), "j");
    REQUIRE(plain.has_value());
    CHECK_FALSE(plain->password);
    CHECK(vault->fingerprint("a") == vault->fingerprint("a"));
    CHECK(vault->fingerprint("a") != reopened->fingerprint("b"));
}

TEST_CASE("a key file others can read is refused") {
    TempDir dir;
    REQUIRE(UploadVault::open(dir.path()).has_value());
    ::chmod((dir / "upload.key").c_str(), 0644);
    auto refused = UploadVault::open(dir.path());
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == certdeploy::ErrorCode::invalid_config);
}

TEST_CASE("key rotation: new uploads under the new key, old ones still opened with the previous keys") {
    TempDir dir;
    const auto key = [&](const std::string& name, char fill) {
        const auto path = dir / name;
        certdeploy::test::write_file(path, std::string(32, fill));
        ::chmod(path.c_str(), 0600);
        return path;
    };
    const auto old_key = key("old.key", 'a');
    const auto new_key = key("new.key", 'b');
    auto before = UploadVault::open_keys(old_key, {});
    REQUIRE(before.has_value());
    Upload upload;
    upload.file = "pfx bytes";
    upload.password.emplace("P@ssw0rd1");
    const auto sealed_before = before->seal(upload, "job-1");

    // Another controller with the same key file opens it (the shared key).
    CHECK(UploadVault::open_keys(old_key, {})->unseal(sealed_before, "job-1").has_value());

    auto rotated = UploadVault::open_keys(new_key, {old_key});
    REQUIRE(rotated.has_value());
    auto opened = rotated->unseal(sealed_before, "job-1");
    REQUIRE(opened.has_value());
    CHECK(opened->file == "pfx bytes");
    const auto sealed_after = rotated->seal(upload, "job-2");
    // The new upload is under the new key alone: the old key cannot open it; the new key alone can.
    CHECK_FALSE(before->unseal(sealed_after, "job-2").has_value());
    CHECK(UploadVault::open_keys(new_key, {})->unseal(sealed_after, "job-2").has_value());
    // Once the old key is dropped, its uploads no longer open, with a detail that says why.
    auto dropped = UploadVault::open_keys(new_key, {})->unseal(sealed_before, "job-1");
    REQUIRE_FALSE(dropped.has_value());
    CHECK(dropped.error().detail.find("uploadPreviousKeyFiles") != std::string::npos);

    // A key file that is missing, short, or readable by others is refused, naming it.
    auto missing = UploadVault::open_keys(dir / "nope.key", {});
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message.find("nope.key") != std::string::npos);
    certdeploy::test::write_file(dir / "short.key", "abc");
    ::chmod((dir / "short.key").c_str(), 0600);
    CHECK(UploadVault::open_keys(new_key, {dir / "short.key"}).error().message.find("32 bytes") != std::string::npos);
    ::chmod(old_key.c_str(), 0640);
    CHECK(UploadVault::open_keys(new_key, {old_key}).error().code == certdeploy::ErrorCode::invalid_config);
}
