// The store's encoding of labels, job options and event snapshots: what goes in comes back, a damaged row
// reads as empty fields rather than failing, and an event as the first versions wrote it still reads.

#include "store/row_codec.hpp"

#include <doctest/doctest.h>

using namespace certdeploy::store;

TEST_CASE("row codec: labels and job options come back as they were written") {
    const std::map<std::string, std::string> labels{{"role", "mailbox"}, {"site", "paris"}};
    CHECK(decode_labels(encode_labels(labels)) == labels);
    CHECK(decode_labels("not json").empty());
    CHECK(decode_labels(R"({"role": 3, "site": "paris"})") == std::map<std::string, std::string>{{"site", "paris"}});

    const JobOptions options{true, "Fabrikam 2027", {"web", "smtp"}, std::nullopt};
    const auto back = decode_options(encode_options(options));
    CHECK(back.privateKeyExportable);
    CHECK(back.friendlyName == "Fabrikam 2027");
    CHECK(back.services == std::vector<std::string>{"web", "smtp"});
    CHECK_FALSE(back.request);

    const JobOptions request{
        false, "", {}, RequestOptions{"CN=mail.contoso.com, O=Contoso", {"mail.contoso.com"}, "ECDSA", 384}};
    const auto asked = decode_options(encode_options(request));
    REQUIRE(asked.request);
    CHECK(asked.request->subject == "CN=mail.contoso.com, O=Contoso");
    CHECK(asked.request->domains == std::vector<std::string>{"mail.contoso.com"});
    CHECK(asked.request->keyAlgorithm == "ECDSA");
    CHECK(asked.request->keySize == 384);
    const auto empty = decode_options("{}");
    CHECK_FALSE(empty.privateKeyExportable);
    CHECK(empty.services.empty());
}

TEST_CASE("row codec: a target's and a job's event snapshots come back typed") {
    TargetRow target;
    target.server = "ex02";
    target.state = "failed";
    target.attempts = 2;
    target.errorCode = "certificate-in-use";
    target.errorMessage = "bound to web";
    target.startedAt = "2026-12-02T03:00:00Z";
    target.finishedAt = "2026-12-02T03:00:01Z";
    const auto event = decode_event(7, "target", "job1", encode_target_event("job1", target));
    CHECK(event.seq == 7);
    CHECK(event.type == EventRow::Type::target);
    CHECK(event.jobId == "job1");
    REQUIRE(event.target);
    CHECK(event.target->server == "ex02");
    CHECK(event.target->state == "failed");
    CHECK(event.target->attempts == 2);
    CHECK(event.target->errorCode == "certificate-in-use");
    CHECK(event.target->errorMessage == "bound to web");
    CHECK(event.target->finishedAt == "2026-12-02T03:00:01Z");
    CHECK_FALSE(event.target->result);

    JobRow job;
    job.id = "job1";
    job.state = "partiallySucceeded";
    job.finishedAt = "2026-12-02T03:00:02Z";
    job.targetCounts = {{"succeeded", 2}, {"failed", 1}};
    const auto done = decode_event(8, "done", "job1", encode_job_event(job));
    CHECK(done.type == EventRow::Type::done);
    REQUIRE(done.job);
    CHECK(done.job->state == "partiallySucceeded");
    CHECK(done.job->finishedAt == "2026-12-02T03:00:02Z");
    CHECK(done.job->targetCounts == job.targetCounts);
}

TEST_CASE("row codec: an event written by the first versions (the API's shape) still reads") {
    const auto old = decode_event(3, "target", "job9",
                                  R"({"job":"job9","server":"ex01","state":"succeeded","attempts":1,"error":null,)"
                                  R"("startedAt":"2026-12-01T10:00:00Z","finishedAt":"2026-12-01T10:00:01Z",)"
                                  R"("report":{"result":"installed","status":"Valid"}})");
    REQUIRE(old.target);
    CHECK(old.target->result == "installed");
    CHECK(old.target->certStatus == "Valid");
    CHECK_FALSE(old.target->errorCode);
    const auto damaged = decode_event(4, "job", "job9", "{");
    REQUIRE(damaged.job);
    CHECK(damaged.job->state.empty());
}
