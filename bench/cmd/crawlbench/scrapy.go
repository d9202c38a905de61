package main

import (
	"os"
	"os/exec"
	"path/filepath"
)

// scrapySpider is the Scrapy crawler: a spider that follows every link,
// with the concurrency limits set as the other crawlers', robots.txt
// ignored, and nothing else switched off that a user would keep.
const scrapySpider = `
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess

pages = 0

class Farm(scrapy.Spider):
    name = "farm"

    def parse(self, response):
        global pages
        pages += 1
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, self.parse)

start, concurrency = sys.argv[1], int(sys.argv[2])
p = CrawlerProcess(settings={
    "CONCURRENT_REQUESTS": concurrency,
    "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
    "ROBOTSTXT_OBEY": False,
    "LOG_LEVEL": "ERROR",
    "TELNETCONSOLE_ENABLED": False,
    "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
})
p.crawl(Farm, start_urls=[start])
p.start()
print(json.dumps({"pages": pages}))
`

// python returns Debian's python3 (the one python3-scrapy is installed
// for), or python3 from PATH.
func python() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// scrapyCommand returns the command that crawls start with Scrapy, its
// script written to dir.
func scrapyCommand(dir, start, concurrency string) (*exec.Cmd, error) {
	script := filepath.Join(dir, "farm_spider.py")
	if err := os.WriteFile(script, []byte(scrapySpider), 0o644); err != nil {
		return nil, err
	}
	return exec.Command(python(), script, start, concurrency), nil
}
