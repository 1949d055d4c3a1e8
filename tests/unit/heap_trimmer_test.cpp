// The heap trimmer's rule (trim once the heap is still after changing by at least the threshold) and its
// thread, over a heap the test controls. What a trim gives back on glibc is measured by the benchmarks
// (docs/PERFORMANCE.md): this build's allocator is AddressSanitizer's, which malloc_trim does not reach.

#include "service/memory/heap_trimmer.hpp"

#include <doctest/doctest.h>

#include <atomic>

using certdeploy::memory::Heap;
using certdeploy::memory::HeapTrimmer;
using certdeploy::memory::TrimPolicy;
using namespace std::chrono_literals;

TEST_CASE("trim policy: not while the heap changes, once when it is still after a change of the threshold") {
    TrimPolicy policy(1000);
    CHECK_FALSE(policy.sample(5000));  // the first look: nothing to compare with
    CHECK(policy.sample(5000));        // still, 5000 from nothing
    policy.trimmed(4000);              // the trim gave the arena's top back
    CHECK_FALSE(policy.sample(4000));  // still, but nothing new since the trim
    CHECK_FALSE(policy.sample(4000));
    CHECK_FALSE(policy.sample(9000));  // a burst: changing
    CHECK_FALSE(policy.sample(7000));
    CHECK(policy.sample(7000));  // still again, 3000 from the last trim
    policy.trimmed(7000);
    CHECK_FALSE(policy.sample(7500));
    CHECK_FALSE(policy.sample(7500));  // still, but 500 < the threshold: not worth a trim
    CHECK_FALSE(policy.sample(6000));
    CHECK(policy.sample(6000));  // a shrink counts as much as a growth
}

TEST_CASE("heap trimmer: trims a still heap on its own thread, never a changing one, and stops at once") {
    std::atomic<std::size_t> free_bytes{0};
    std::atomic<int> trims{0};
    std::atomic<bool> changing{true};
    Heap heap{[&] {
                  if (changing) {
                      free_bytes += 4096;  // a burst in progress: different at every look
                  }
                  return free_bytes.load();
              },
              [&] { ++trims; }};
    {
        HeapTrimmer trimmer(5ms, heap, 1);
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (free_bytes < 20 * 4096 && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(1ms);
        }
        CHECK(free_bytes >= 20 * 4096);  // sampled twenty times and more...
        CHECK(trims == 0);               // ...and never trimmed while changing
        changing = false;
        while (trims == 0 && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(1ms);
        }
        CHECK(trims == 1);
        std::this_thread::sleep_for(50ms);  // ten more samples of the same still heap
        CHECK(trims == 1);                  // nothing new: no second trim
    }  // the destructor wakes and joins the thread (the interval does not delay it)
}
