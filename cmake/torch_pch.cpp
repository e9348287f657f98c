// Anchor translation unit for the shared libtorch precompiled header (cmake/LmlabTargets.cmake).
