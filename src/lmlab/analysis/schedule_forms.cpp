// The schedule-tied trajectory forms (formulas in schedule_forms.h).
#include "lmlab/analysis/schedule_forms.h"

#include <cmath>

namespace lmlab::analysis {

std::vector<std::string> schedule_form_names() { return {"piecewise-cosine", "lr-area"}; }

std::vector<CurveForm> schedule_trajectory_forms(const std::shared_ptr<const LrSchedule>& schedule, double steps_per_t) {
  std::vector<CurveForm> forms;
  if (schedule->decays()) {
    forms.push_back({"piecewise-cosine", "c0+c1*ln(t)+c2*anneal(t)", {"c0", "c1", "c2"}, {false, false, false},
                     [schedule, steps_per_t](double t, const std::vector<double>& p) {
                       return p[0] + p[1] * std::log(t) + p[2] * schedule->anneal(t * steps_per_t);
                     },
                     [](const std::vector<double>&, const std::vector<double>& y) {
                       // Linear in the parameters: any start converges.
                       return std::vector<std::vector<double>>{{y.back(), 0.0, 0.0}};
                     }});
  }
  const double reference = schedule->area(steps_per_t);
  forms.push_back({"lr-area", "c0*(area(t)/area(1))^c1+c2", {"c0", "c1", "c2"}, {false, false, false},
                   [schedule, steps_per_t, reference](double t, const std::vector<double>& p) {
                     return p[0] * std::pow(schedule->area(t * steps_per_t) / reference, p[1]) + p[2];
                   },
                   [schedule, steps_per_t, reference](const std::vector<double>& x, const std::vector<double>& y) {
                     // Through the first point for each exponent and asymptote, as the free power form.
                     std::vector<std::vector<double>> starts;
                     const double s0 = schedule->area(x.front() * steps_per_t) / reference;
                     const double spread = y.front() - y.back();
                     for (double c1 : {-1.0, -0.5, 0.5, 1.0}) {
                       for (double c2 : {y.back(), y.back() - 0.5 * spread, y.back() - 2.0 * spread})
                         starts.push_back({(y.front() - c2) / std::pow(s0, c1), c1, c2});
                     }
                     return starts;
                   }});
  return forms;
}

}  // namespace lmlab::analysis
