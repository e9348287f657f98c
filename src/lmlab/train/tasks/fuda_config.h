// [task.fuda]: few-shot unsupervised domain adaptation (docs/cvisdit.md). The PCS loss weights
// and settings default to the paper's config (`loss_params`, ../shared/papers §3.2); the
// C-VisDiT mixing values come from a named preset of the official configs (§3.3) unless set.
#pragma once
#include <cstdint>
#include <string>

namespace lmlab {

struct FudaConfig {
  std::string source, target;  // image files: IDX (MNIST, USPS) or the optdigits CSV
  std::string group;           // the results JSON's "group" ("" = "<source stem> -> <target stem>")
  std::string method = "cvisdit";
  int64_t shots = 1;
  int64_t max_source = 0, max_target = 0;
  int64_t subset_seed = 0;
  std::string normalise = "per_image";
  int64_t shift = 2;
  int64_t feature_dim = 64;
  int64_t labelled_batch = 64;
  // PCS (§3.2).
  double cls_temperature = 0.05, i2c_temperature = 0.1;
  double bank_momentum = 0.5, shot_bank_momentum = 0.9;
  int64_t kmeans_repeats = 15, kmeans_iters = 40;
  double phi_alpha = 10;
  double w_cls = 1, w_proto = 1, w_i2c = 1, w_semi_condentmax = 0.5, w_semi_entmin = 0.05,
         w_tgt_condentmax = 0.5, w_tgt_entmin = 0.05;
  double thres_src = 0.98, thres_tgt = 0.98;
  int64_t proto_target_min = 20, proto_target_epoch = 2;
  // C-VisDiT (§3.3); a negative value = the preset's.
  std::string preset = "office_a_d_1";
  double mixup_alpha = 0.75;
  double confidence_ratio = -1, lambda_mixed = -1, lambda_target_mixed = -1, target_inside_ratio = -1,
         target_inside_confidence = -1;

  template <class V>
  void visit(V& v) {
    v.field("source", source, "labelled-source image file (IDX images with their labels file beside, or optdigits CSV)");
    v.field("target", target, "unlabelled-target image file (its labels are used only to score accuracy)");
    v.field("group", group, "name of the domain pair in the results JSON; \"\" = \"<source> -> <target>\"");
    v.field("method", method,
            "source_only = CE on the labelled shots; pcs = PCS; cvisdit = PCS + X-VD + I-VD; xvd_only, ivd_only = "
            "PCS + one of them (ablations)",
            {"source_only", "pcs", "cvisdit", "xvd_only", "ivd_only"});
    v.field("shots", shots, "labelled source images per class (the paper: 1 or 3)");
    v.field("max_source", max_source, "use a fixed random subset of this many source images (0 = all)");
    v.field("max_target", max_target, "use a fixed random subset of this many target images (0 = all)");
    v.field("subset_seed", subset_seed, "seed of the source/target subsets (the shots follow run.seed)");
    v.field("normalise", normalise,
            "per_image = zero mean, unit variance per image (removes the domains' brightness scale); "
            "fixed = (x - 0.5) / 0.5 on [0, 1] pixels",
            {"per_image", "fixed"});
    v.field("shift", shift,
            "training augmentation: random shifts of up to this many pixels (the paper's random crops; 0 = off)");
    v.field("feature_dim", feature_dim, "width of the L2-normalised feature (the paper's fc: 512)");
    v.field("labelled_batch", labelled_batch, "labelled-source images per step (at most all the shots)");
    v.field("cls_temperature", cls_temperature, "cosine classifier temperature T");
    v.field("i2c_temperature", i2c_temperature, "temperature of the cross-domain instance-to-cluster loss");
    v.field("bank_momentum", bank_momentum, "memory bank momentum m: bank = normalise(m bank + (1-m) f)");
    v.field("shot_bank_momentum", shot_bank_momentum, "memory bank momentum of the labelled shots' entries");
    v.field("kmeans_repeats", kmeans_repeats, "k-means runs per k in {C, 2C} (the paper's n_k: 15)");
    v.field("kmeans_iters", kmeans_iters, "spherical k-means iterations");
    v.field("phi_alpha", phi_alpha, "alpha of the cluster concentration phi = sum |f - mu| / (n log(n + alpha))");
    v.field("w_cls", w_cls, "weight of CE on the labelled shots (cls-so)");
    v.field("w_proto", w_proto, "weight of the in-domain prototypical loss (proto-each)");
    v.field("w_i2c", w_i2c, "weight of the cross-domain instance-to-cluster loss (I2C-cross)");
    v.field("w_semi_condentmax", w_semi_condentmax, "weight of the unlabelled-source diversity term");
    v.field("w_semi_entmin", w_semi_entmin, "weight of the unlabelled-source entropy");
    v.field("w_tgt_condentmax", w_tgt_condentmax, "weight of the target diversity term");
    v.field("w_tgt_entmin", w_tgt_entmin, "weight of the target entropy");
    v.field("thres_src", thres_src, "pseudo-label threshold (max softmax) of unlabelled source images");
    v.field("thres_tgt", thres_tgt, "pseudo-label threshold of target images");
    v.field("proto_target_min", proto_target_min,
            "a class's classifier weight becomes its target prototype once it has this many pseudo-labels");
    v.field("proto_target_epoch", proto_target_epoch, "... from this epoch on (epochs count from 1)");
    v.field("preset", preset,
            "C-VisDiT mixing values of an official config: office_a_d_1 (0.95, 1.0, 0.25, 0.15, 0.75), "
            "office_a_w_3 (0.75, 0.5, 0.1, 0.05, 0.95), officehome_ar_cl (0.75, 1.0, 0.2, 0.25, 0.75), "
            "domainnet_c_s_1 (0.15, 0.75, 0.05, 0.03, 0.30) as (confidence_ratio, lambda_mixed, "
            "lambda_target_mixed, target_inside_ratio, target_inside_confidence)",
            {"office_a_d_1", "office_a_w_3", "officehome_ar_cl", "domainnet_c_s_1"});
    v.field("mixup_alpha", mixup_alpha, "lambda ~ Beta(alpha, alpha), then lambda = max(lambda, 1 - lambda)");
    v.field("confidence_ratio", confidence_ratio, "X-VD: share of lowest-entropy targets in the loss (< 0: preset)");
    v.field("lambda_mixed", lambda_mixed, "weight of the X-VD loss (< 0: preset)");
    v.field("lambda_target_mixed", lambda_target_mixed, "weight of the I-VD loss (< 0: preset)");
    v.field("target_inside_ratio", target_inside_ratio, "I-VD: share of 'easy' targets (< 0: preset)");
    v.field("target_inside_confidence", target_inside_confidence,
            "I-VD: easy + 'hard' share; the rest are outliers (< 0: preset)");
  }
};

// The five C-VisDiT values after the preset is applied (UserError for values outside [0, 1]).
struct DispersalSettings {
  double confidence_ratio, lambda_mixed, lambda_target_mixed, target_inside_ratio, target_inside_confidence;
};
DispersalSettings resolve_dispersal(const FudaConfig& c);

}  // namespace lmlab
