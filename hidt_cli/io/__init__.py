"""Reading and writing the files that hidt converts: images, videos and input/output paths."""
