// doctest's main, with one guard: CTest runs each test case by name, and a name CTest mangles (a ';' is a
// CMake list separator) would select nothing and pass without testing anything. A run given a test-case
// filter that selects no test case fails instead.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

namespace {

int g_started = 0;

struct CountingListener : doctest::IReporter {
    explicit CountingListener(const doctest::ContextOptions& /*options*/) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { ++g_started; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("counting", 1, CountingListener);

}  // namespace

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int status = context.run();
    if (context.shouldExit()) {
        return status;
    }
    bool filtered = false;
    for (int i = 1; i < argc; ++i) {
        filtered = filtered || std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0;
    }
    if (filtered && g_started == 0) {
        std::fprintf(stderr, "no test case matched the filter: the test's name was mangled on its way here\n");
        return 1;
    }
    return status;
}
