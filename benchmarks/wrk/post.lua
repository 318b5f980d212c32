-- wrk script: POST the JSON body in the file named by the first script argument
-- (`wrk ... -s post.lua URL -- BODY_FILE`), as application/json.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  local path = args[1]
  if path == nil then
    error("post.lua: pass the body file after --")
  end
  local file = assert(io.open(path, "rb"))
  wrk.body = file:read("*a")
  file:close()
end
