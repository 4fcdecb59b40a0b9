module pagoda/gobench

go 1.19
