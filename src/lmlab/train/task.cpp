// The task registry and the default training step (see task.h).
#include "lmlab/train/task.h"

#include <stdexcept>

#include "lmlab/common/error.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

void Task::train_step(StepEnv& s) {
  for (int64_t micro = 0; micro < s.grad_accum(); ++micro) s.backward(loss(s.next_batch()));
  s.update();
}

TaskRegistry& TaskRegistry::instance() {
  static TaskRegistry registry = [] {
    TaskRegistry r;
    register_builtin_tasks(r);
    return r;
  }();
  return registry;
}

void TaskRegistry::add(const std::string& name, const std::string& help, TaskFactory factory) {
  if (!tasks_.emplace(name, std::make_pair(help, std::move(factory))).second)
    throw std::logic_error("task '" + name + "' registered twice");
}

std::unique_ptr<Task> TaskRegistry::make(const std::string& name) const {
  auto it = tasks_.find(name);
  if (it == tasks_.end()) {
    std::string known;
    for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
    throw UserError("run.task: unknown task '" + name + "'" + did_you_mean(name, names()) + "; known tasks: " + known);
  }
  return it->second.second();
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : tasks_) out.push_back(name);
  return out;
}

std::vector<std::string> task_names() { return TaskRegistry::instance().names(); }

}  // namespace lmlab::train
