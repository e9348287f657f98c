// The requests of real items from the shared task files, pinned to the strings lm-eval 0.4.x
// builds for the same items. Each expected string was written out by hand from lm-eval's task
// templates (hellaswag/utils.py, piqa.yaml, winogrande/preprocess_winogrande.py, arc_easy.yaml,
// openbookqa.yaml, super_glue/copa/utils.py, super_glue/boolq/default.yaml, lambada_openai.yaml)
// applied to the item's fields, not produced by our parsers.
#include <gtest/gtest.h>

#include "lmlab/common/files.h"
#include "lmlab/eval/scorer.h"
#include "lmlab/eval/task_data.h"

using namespace lmlab::eval;

namespace {

const TaskData& task(const std::string& name) {
  static std::map<std::string, TaskData> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end()) it = loaded.emplace(name, load_task(name, lmlab::data_path("eval"))).first;
  return it->second;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

const Request& request(const std::string& name, size_t item, size_t choice) {
  return task(name).items.at(item).choices.at(choice).request;
}

}  // namespace

TEST(LmEvalRequests, HellaswagCapitalisesTheLowerCaseFragment) {
  // activity_label "Roof shingle removal", ctx_a "A man is sitting on a roof.", ctx_b "he".
  EXPECT_EQ(request("hellaswag", 0, 0).context, "Roof shingle removal: A man is sitting on a roof. He");
  EXPECT_EQ(request("hellaswag", 0, 3).continuation, " starts pulling up roofing on a roof.");
  EXPECT_EQ(task("hellaswag").items[0].gold, 3);
  // A WikiHow item whose last sentence starts lower-case after an abbreviation stays as it is.
  EXPECT_TRUE(ends_with(request("hellaswag", 3471, 0).context, ". On an additional note, you and everyone in your "
                                                              "household must also be u.s. citizens or u.s. nationals."));
  EXPECT_EQ(hellaswag_capitalize_ctx_b("Clean and jerk: A lady walks to a barbell. She bends down. the lady"),
            "Clean and jerk: A lady walks to a barbell. She bends down. The lady");
  EXPECT_EQ(hellaswag_capitalize_ctx_b("Label: A man sits."), "Label: A man sits.");
}

TEST(LmEvalRequests, PiqaWinograndeArcOpenbookqa) {
  EXPECT_EQ(request("piqa", 0, 0).context, "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
  EXPECT_EQ(request("piqa", 0, 1).continuation,
            " Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, you will "
            "also need to supply it with a water bottle and a food dish.");
  EXPECT_EQ(request("winogrande", 0, 0).context, "Sarah was a much better surgeon than Maria so Sarah");
  EXPECT_EQ(request("winogrande", 0, 1).context, "Sarah was a much better surgeon than Maria so Maria");
  EXPECT_EQ(request("winogrande", 0, 1).continuation, " always got the easier cases.");
  EXPECT_EQ(request("arc_easy", 0, 0).context,
            "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:");
  EXPECT_EQ(request("arc_easy", 0, 0).continuation, " Sunlight is the source of energy for nearly all ecosystems.");
  EXPECT_EQ(request("openbookqa", 0, 1).context,
            "A person wants to start saving money so that they can afford a nice vacation at the end of the year. After "
            "looking over their budget and expenses, they decide the best way to save money is to");
  EXPECT_EQ(request("openbookqa", 0, 1).continuation, " quit eating lunch out");
}

TEST(LmEvalRequests, CopaDropsTheCommaAndPutsTwoSpacesBeforeTheChoice) {
  // premise "The man turned on the faucet.", question "effect": premise[:-1] + " therefore".
  EXPECT_EQ(request("copa", 0, 0).context, "The man turned on the faucet therefore");
  EXPECT_EQ(request("copa", 0, 1).continuation, "  water flowed from the spout.");
  // premise "The hamburger meat browned.", question "cause".
  EXPECT_EQ(request("copa", 4, 1).context, "The hamburger meat browned because");
  EXPECT_EQ(request("copa", 4, 0).continuation, "  the cook froze it.");
}

TEST(LmEvalRequests, BoolqPassageQuestionAnswer) {
  const std::string& first = request("boolq", 0, 0).context;
  EXPECT_EQ(first.substr(0, 40), "All biomass goes through at least some o");
  EXPECT_TRUE(ends_with(first, " than producing gasoline.\nQuestion: does ethanol take more energy make that produces?\nAnswer:"));
  EXPECT_EQ(request("boolq", 0, 1).continuation, " yes");
  // The passage's "general knowledge questions" (the data file has "knowledge\nQuestions").
  EXPECT_EQ(request("boolq", 45, 0).context,
            "Tipping Point is a British television game show which began airing on ITV on 2 July 2012, and is presented "
            "by Ben Shephard. Four contestants answer general knowledge questions to win counters which they use on a "
            "large coin pusher arcade-style machine. Only the winner at the end has a chance to take home any money; the "
            "others leave with nothing except any non-cash prizes they may have won during the game.\nQuestion: does "
            "only the winner get money on tipping point?\nAnswer:");
  EXPECT_NE(task("boolq").note.find("title"), std::string::npos);  // the one difference left, reported
}

TEST(LmEvalRequests, LambadaContextAndLastWord) {
  const Request& r = request("lambada", 0, 0);
  EXPECT_TRUE(ends_with(r.context, "his mouth curved in a confident grin, I don't care about"));
  EXPECT_EQ(r.continuation, " signs");
  for (const std::string& name : task_names())
    if (name != "boolq") {
      EXPECT_EQ(task(name).note, "") << name;
    }
}

TEST(LmEvalRequests, AllTrailingWhitespaceMovesToTheContinuation) {
  // HFLM._encode_pair: n_spaces = len(context) - len(context.rstrip()).
  EXPECT_EQ(python_rstrip_length("Answer: \t\n "), 7u);
  EXPECT_EQ(python_rstrip_length("x\xc2\xa0"), 1u);      // U+00A0 no-break space
  EXPECT_EQ(python_rstrip_length("x\xe3\x80\x80"), 1u);  // U+3000 ideographic space
  EXPECT_EQ(python_rstrip_length("x\x1f"), 1u);          // Python counts \x1c-\x1f as space
  EXPECT_EQ(python_rstrip_length("caf\xc3\xa9"), 5u);    // é is not space
  EXPECT_EQ(python_rstrip_length(" \n"), 0u);
}
