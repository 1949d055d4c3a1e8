// The agent's content digest (a re-install recognised without decryption): the same password and bytes
// give the same digest, any difference in either gives another, the key is the process's own, and calls
// from several threads at once agree with one at a time.

#include "service/pki/content_digest.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using certdeploy::Secret;
using certdeploy::pki::ContentDigest;
using certdeploy::pki::ContentDigester;

TEST_CASE("content digest: the same password and bytes agree, any other password, none or bytes differ") {
    const ContentDigester digester;
    const Secret password("Passw0rd!");
    const Secret other("Passw0rd?");
    const Secret empty("");
    const std::string bytes(5000, 'x');
    const auto first = digester.digest(&password, bytes);
    REQUIRE(first.has_value());
    CHECK(digester.digest(&password, bytes) == first);
    CHECK(digester.digest(&other, bytes) != first);
    CHECK(digester.digest(nullptr, bytes) != first);
    CHECK(digester.digest(&empty, bytes) != digester.digest(nullptr, bytes));  // no password is not an empty one
    CHECK(digester.digest(&password, bytes + "y") != first);
    // Framed: a password's last byte moved into the file is another pair.
    const Secret shorter("Passw0rd");
    CHECK(digester.digest(&shorter, "!" + bytes) != first);
    // Another process's (another digester's) key: another digest of the same pair.
    const ContentDigester elsewhere;
    CHECK(elsewhere.digest(&password, bytes) != first);
}

TEST_CASE("content digest: calls from several threads at once give what one at a time gives") {
    const ContentDigester digester;
    const Secret password("Passw0rd!");
    std::vector<std::string> files;
    std::vector<ContentDigest> expected;
    for (int i = 0; i < 8; ++i) {
        files.push_back(std::string(1000 + i, static_cast<char>('a' + i)));
        expected.push_back(digester.digest(&password, files.back()).value());
    }
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 500; ++round) {
                const auto i = static_cast<std::size_t>((round + t) % 8);
                if (digester.digest(&password, files[i]) != expected[i]) {
                    ++mismatches[static_cast<std::size_t>(t)];
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(mismatches == std::vector<int>(4, 0));
}
