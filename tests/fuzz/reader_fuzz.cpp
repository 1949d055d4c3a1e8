// libFuzzer target for the certificate reader: any bytes, with and without a password, must give a bundle
// or an Error, never a crash, a leak, a hang or undefined behaviour. Built with clang 14 only
// (-DCERTDEPLOY_FUZZ=ON); tests/fuzz/run-fuzzer.sh runs it for a bounded time in CI.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "service/pki/reader.hpp"
#include "service/pki/summary.hpp"
#include "service/pki/trust.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace certdeploy;
    static const auto ctx = pki::PkiContext::create().value();
    static const auto trust = pki::TrustStore::create(ctx, {}, false).value();
    static const Secret password("P@ssw0rd1");  // the corpus's password, so encrypted paths are reached

    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // Odd sizes are read without a password, even ones with it: both branches from any seed.
    auto bundle = pki::read_bundle(bytes, size % 2 == 1 ? nullptr : &password, *ctx);
    if (bundle) {
        (void)pki::summarize(*bundle, trust->evaluate(*bundle));
    }
    return 0;
}
