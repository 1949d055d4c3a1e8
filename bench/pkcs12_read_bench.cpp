// How long reading a PKCS #12 takes, set against OpenSSL on the same file in the same run.
//
//   pkcs12_read_bench PFX PASSWORD_FILE CERTDEPLOY OPENSSL [ROUNDS]
//
// In-process: certdeploy's read_bundle versus OpenSSL's own d2i_PKCS12 + PKCS12_parse, in the same
// library context. As processes: `certdeploy inspect F --password-file P --no-system-trust` versus
// `openssl pkcs12 -in F -nodes -passin file:P -out /dev/null`. Rounds alternate between the contenders so
// that drift in the machine's speed touches both alike; medians are reported.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "service/fs/atomic_file.hpp"
#include "service/pki/reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace certdeploy;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

template <class F>
double time_us(F&& f) {
    const auto start = Clock::now();
    f();
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

double run_process_us(const std::string& binary, const std::vector<std::string>& args, const test::TempDir& dir) {
    return time_us([&] {
        test::ChildProcess child(binary, args, dir.path());
        auto status = child.wait_for_exit(std::chrono::seconds(30));
        if (!status || status->code != 0) {
            std::cerr << binary << " failed: " << child.stderr_text() << child.stdout_text() << '\n';
            std::exit(1);
        }
    });
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: pkcs12_read_bench PFX PASSWORD_FILE CERTDEPLOY OPENSSL [ROUNDS]\n";
        return 2;
    }
    const std::string pfx = argv[1];
    const std::string password_file = argv[2];
    const std::string certdeploy_bin = argv[3];
    const std::string openssl_bin = argv[4];
    const int rounds = argc > 5 ? std::stoi(argv[5]) : 200;

    const auto bytes = fs::read_file(pfx, pki::kMaxFileBytes).value();
    auto password_text = fs::read_file(password_file, 4096).value();
    const Secret password(password_text.substr(0, password_text.find_first_of("\r\n")));
    const auto ctx = pki::PkiContext::create().value();

    // In-process, with warm-up so that provider loading and first-use lazy initialisation are not counted.
    auto certdeploy_read = [&] {
        auto bundle = pki::read_bundle(bytes, &password, *ctx);
        if (!bundle) {
            std::cerr << "read failed: " << bundle.error().message << '\n';
            std::exit(1);
        }
    };
    auto openssl_parse = [&] {
        pki::ScopedDefaultContext scope(*ctx);
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
        pki::Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(bytes.size())));
        EVP_PKEY* key = nullptr;
        X509* cert = nullptr;
        STACK_OF(X509)* ca = nullptr;
        if (!p12 || PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &ca) != 1) {
            std::cerr << "PKCS12_parse failed\n";
            std::exit(1);
        }
        pki::EvpPkeyPtr owned_key(key);
        pki::X509Ptr owned_cert(cert);
        pki::X509StackPtr owned_ca(ca);
    };
    for (int i = 0; i < 20; ++i) {
        certdeploy_read();
        openssl_parse();
    }
    std::vector<double> ours_in;
    std::vector<double> theirs_in;
    for (int i = 0; i < rounds; ++i) {
        ours_in.push_back(time_us(certdeploy_read));
        theirs_in.push_back(time_us(openssl_parse));
    }

    test::TempDir dir;
    const std::vector<std::string> inspect_args{"inspect", pfx, "--password-file", password_file, "--no-system-trust"};
    const std::vector<std::string> openssl_args{"pkcs12", "-in",      pfx, "-nodes", "-passin", "file:" + password_file,
                                                "-out",   "/dev/null"};
    const int process_rounds = std::max(10, rounds / 4);
    for (int i = 0; i < 5; ++i) {
        run_process_us(certdeploy_bin, inspect_args, dir);
        run_process_us(openssl_bin, openssl_args, dir);
    }
    std::vector<double> ours_proc;
    std::vector<double> theirs_proc;
    for (int i = 0; i < process_rounds; ++i) {
        ours_proc.push_back(run_process_us(certdeploy_bin, inspect_args, dir));
        theirs_proc.push_back(run_process_us(openssl_bin, openssl_args, dir));
    }

    const double in_ours = median(ours_in);
    const double in_theirs = median(theirs_in);
    const double proc_ours = median(ours_proc);
    const double proc_theirs = median(theirs_proc);
    std::printf("| measurement | certdeploy | OpenSSL | ratio |\n|---|---|---|---|\n");
    std::printf(
        "| in-process read, median of %d (us) | %.1f (read_bundle) | %.1f (d2i_PKCS12 + PKCS12_parse) | %.3f |\n",
        rounds, in_ours, in_theirs, in_ours / in_theirs);
    std::printf(
        "| whole command, median of %d (ms) | %.2f (certdeploy inspect) | %.2f (openssl pkcs12 -nodes) | %.3f |\n",
        process_rounds, proc_ours / 1000, proc_theirs / 1000, proc_ours / proc_theirs);
    return 0;
}
