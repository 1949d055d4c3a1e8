// The job's state machine and the attempt policy, as pure functions: every state, every move, every mix of
// target counts up to two of each, and the backoff's bounds.

#include "service/controller/job_model.hpp"

#include <doctest/doctest.h>

#include <set>

#include "service/controller/attempt_policy.hpp"

using namespace certdeploy;
using namespace certdeploy::controller;
using namespace std::chrono_literals;

TEST_CASE("job model: every kind and state has one spelling, read back as itself") {
    std::set<std::string_view> job_names;
    for (const auto state : kJobStates) {
        CHECK(parse_job_state(name(state)) == state);
        job_names.insert(name(state));
    }
    CHECK(job_names.size() == kJobStates.size());
    std::set<std::string_view> target_names;
    for (const auto state : kTargetStates) {
        CHECK(parse_target_state(name(state)) == state);
        target_names.insert(name(state));
    }
    CHECK(target_names.size() == kTargetStates.size());
    for (const auto kind : kJobKinds) {
        CHECK(parse_job_kind(name(kind)) == kind);
    }
    CHECK(name(JobState::partiallySucceeded) == "partiallySucceeded");
    CHECK_FALSE(parse_job_state("Succeeded"));
    CHECK_FALSE(parse_job_state(""));
    CHECK_FALSE(parse_target_state("queued"));  // a job's state, not a target's
    CHECK_FALSE(parse_job_kind("export"));
}

TEST_CASE("job model: a job's state from every mix of up to two targets in each state") {
    using T = TargetState;
    int mixes = 0;
    TargetCounts c;
    for (c[T::pending] = 0; c[T::pending] <= 2; ++c[T::pending]) {
        for (c[T::running] = 0; c[T::running] <= 2; ++c[T::running]) {
            for (c[T::succeeded] = 0; c[T::succeeded] <= 2; ++c[T::succeeded]) {
                for (c[T::failed] = 0; c[T::failed] <= 2; ++c[T::failed]) {
                    for (c[T::cancelled] = 0; c[T::cancelled] <= 2; ++c[T::cancelled]) {
                        if (c.total() == 0) {
                            continue;  // a job has at least one target
                        }
                        ++mixes;
                        const auto state = job_state(c);
                        const std::string mix =
                            std::to_string(c[T::pending]) + " pending, " + std::to_string(c[T::running]) +
                            " running, " + std::to_string(c[T::succeeded]) + " succeeded, " +
                            std::to_string(c[T::failed]) + " failed, " + std::to_string(c[T::cancelled]) + " cancelled";
                        CAPTURE(mix);
                        CAPTURE(name(state));
                        const bool open = c[T::pending] + c[T::running] > 0;
                        CHECK(is_final(state) == !open);
                        CHECK((state == JobState::queued) == (c[T::pending] == c.total()));
                        CHECK((state == JobState::running) == (open && c[T::pending] != c.total()));
                        CHECK((state == JobState::cancelled) == (!open && c[T::cancelled] > 0));
                        CHECK((state == JobState::succeeded) == (!open && c[T::cancelled] == 0 && c[T::failed] == 0));
                        CHECK((state == JobState::failed) ==
                              (!open && c[T::cancelled] == 0 && c[T::failed] > 0 && c[T::succeeded] == 0));
                        CHECK((state == JobState::partiallySucceeded) ==
                              (!open && c[T::cancelled] == 0 && c[T::failed] > 0 && c[T::succeeded] > 0));
                        CHECK(keep_upload(c) == (c[T::failed] > 0));
                    }
                }
            }
        }
    }
    CHECK(mixes == 242);
}

TEST_CASE("job model: counts from the store's rows, unknown names ignored") {
    const auto counts = TargetCounts::from({{"pending", 2}, {"failed", 1}, {"bogus", 7}});
    CHECK(counts[TargetState::pending] == 2);
    CHECK(counts[TargetState::failed] == 1);
    CHECK(counts.total() == 3);
}

TEST_CASE("job model: the moves a target may make, and no others") {
    using T = TargetState;
    const std::set<std::pair<T, T>> allowed = {
        {T::pending, T::running}, {T::pending, T::cancelled}, {T::pending, T::failed},    {T::running, T::succeeded},
        {T::running, T::failed},  {T::running, T::pending},   {T::running, T::cancelled}, {T::failed, T::pending},
    };
    for (const auto from : kTargetStates) {
        for (const auto to : kTargetStates) {
            CAPTURE(name(from));
            CAPTURE(name(to));
            CHECK(can_move(from, to) == (allowed.count({from, to}) == 1));
        }
    }
    CHECK(is_final(T::succeeded));
    CHECK(is_final(T::cancelled));
    CHECK(is_final(T::failed));  // final until a retry moves it back to pending
    CHECK_FALSE(is_final(T::pending));
    CHECK_FALSE(is_final(T::running));
}

TEST_CASE("attempt policy: only an unreachable agent is tried again, within the attempts") {
    CHECK(should_retry(ErrorCode::agent_unreachable, 1, 4));
    CHECK(should_retry(ErrorCode::agent_unreachable, 3, 4));
    CHECK_FALSE(should_retry(ErrorCode::agent_unreachable, 4, 4));
    for (const auto code : {ErrorCode::wrong_password, ErrorCode::certificate_in_use, ErrorCode::reload_failed,
                            ErrorCode::agent_error, ErrorCode::server_not_found, ErrorCode::internal}) {
        CHECK_FALSE(should_retry(code, 1, 4));
    }
    CHECK(already_removed(ErrorCode::certificate_not_found));
    CHECK_FALSE(already_removed(ErrorCode::certificate_in_use));
}

TEST_CASE("attempt policy: the backoff doubles, is capped, and is half fixed, half drawn") {
    // First try: between half the base and the base.
    CHECK(backoff_delay(1, 1000ms, 60s, 0.0) == 500ms);
    CHECK(backoff_delay(1, 1000ms, 60s, 1.0) == 1000ms);
    CHECK(backoff_delay(1, 1000ms, 60s, 0.5) == 750ms);
    // Doubling per try.
    CHECK(backoff_delay(2, 1000ms, 60s, 1.0) == 2000ms);
    CHECK(backoff_delay(3, 1000ms, 60s, 0.0) == 2000ms);
    CHECK(backoff_delay(3, 1000ms, 60s, 1.0) == 4000ms);
    // Capped, however many tries (no overflow).
    CHECK(backoff_delay(7, 1000ms, 60s, 1.0) == 60s);
    CHECK(backoff_delay(1000, 1000ms, 60s, 0.0) == 30s);
    // A cap below the base is the base; a draw outside [0, 1] is clamped.
    CHECK(backoff_delay(5, 2000ms, 1000ms, 1.0) == 2000ms);
    CHECK(backoff_delay(1, 1000ms, 60s, 7.0) == 1000ms);
    CHECK(backoff_delay(1, 1000ms, 60s, -1.0) == 500ms);
    CHECK(backoff_delay(0, 100ms, 60s, 1.0) == 100ms);
}
