// JSON from users' files (json_text.h, issue #23 class 5): every failure is a UserError that
// names the file and the place, never an nlohmann exception that names nothing.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/common/json_text.h"

#include "user_error_of.h"

using namespace lmlab;
using lmlab::test::user_error_of;

TEST(JsonText, SyntaxErrorsArePlacedInTheFileNotInTheText) {
  const std::string text = "{\"a\": 1,\n  \"b\": ]\n}";
  EXPECT_EQ(user_error_of([&] { parse_json(text, SourcePos{"f.json", 1, 1}); }).rfind("f.json:2:8: invalid JSON: ", 0), 0u)
      << user_error_of([&] { parse_json(text, SourcePos{"f.json", 1, 1}); });
  // A line of a JSONL file that starts at line 7, column 1; a header at byte 8 of a binary file.
  EXPECT_EQ(user_error_of([&] { parse_json("{\"a\" 1}", SourcePos{"r.jsonl", 7, 1}); }).rfind("r.jsonl:7:6: ", 0), 0u);
  EXPECT_EQ(user_error_of([&] { parse_json("{\"a\" 1}", SourcePos{"h.bin", 0, 0, 8}); }).rfind("h.bin: byte 13: ", 0), 0u);
}

TEST(JsonText, ANumberNoDoubleHoldsIsAnErrorAtItsToken) {
  // nlohmann raises this as out_of_range, not parse_error: it used to escape as an internal error.
  const std::string text = "{\n  \"x\": [1, 1e400]\n}";
  const std::string err = user_error_of([&] { parse_json(text, SourcePos{"f.json", 1, 1}); });
  EXPECT_EQ(err, "f.json:2:12: invalid JSON: number overflow parsing '1e400'");
  EXPECT_NE(user_error_of([&] { parse_json<nlohmann::ordered_json>("-1e999", SourcePos{"o.json", 1, 1}); })
                .find("o.json:1:1: invalid JSON: number overflow"),
            std::string::npos);
  EXPECT_EQ(parse_json("[1e300]", SourcePos{"f.json", 1, 1})[0].get<double>(), 1e300);  // large but finite
}

TEST(JsonText, IntegerFieldsAreCheckedForTypeAndRangeNamingTheKey) {
  const auto j = nlohmann::json::parse(R"({"n": 5, "s": "5", "f": 5.5, "neg": -1, "huge": 18446744073709551615})");
  EXPECT_EQ(json_int(j, "n", 0, 10, "m.json"), 5);
  EXPECT_EQ(user_error_of([&] { json_int(j, "s", 0, 10, "m.json"); }), "m.json: s: expected an integer in [0, 10], got a string");
  EXPECT_EQ(user_error_of([&] { json_int(j, "f", 0, 10, "m.json"); }), "m.json: f: expected an integer in [0, 10], got 5.5");
  EXPECT_EQ(user_error_of([&] { json_int(j, "neg", 0, 10, "m.json"); }), "m.json: neg: expected an integer in [0, 10], got -1");
  EXPECT_EQ(user_error_of([&] { json_int(j, "n", 6, 10, "m.json"); }), "m.json: n: expected an integer in [6, 10], got 5");
  EXPECT_EQ(user_error_of([&] { json_int(j, "huge", 0, INT64_MAX, "m.json"); }).find("m.json: huge: expected"), 0u);
  EXPECT_EQ(user_error_of([&] { json_int(j, "gone", 0, 10, "m.json"); }), "m.json: gone: missing (an integer in [0, 10])");
}

TEST(JsonText, UncheckedAccessesBecomeOneErrorNamingTheFile) {
  const auto j = nlohmann::json::parse(R"({"name": 3})");
  EXPECT_EQ(user_error_of([&] { reading_json("c.json", [&] { return j.at("name").get<std::string>(); }); }),
            "c.json: unexpected value: type must be string, but is number");
  EXPECT_EQ(user_error_of([&] { reading_json("c.json", [&] { return j.at("other").get<int>(); }); }),
            "c.json: unexpected value: key 'other' not found");
  EXPECT_EQ(reading_json("c.json", [&] { return j.at("name").get<int>(); }), 3);
  // A reader's own UserError passes through unchanged.
  EXPECT_EQ(user_error_of([&] { reading_json("c.json", [] { throw UserError("c.json: name: too short"); }); }),
            "c.json: name: too short");
}
