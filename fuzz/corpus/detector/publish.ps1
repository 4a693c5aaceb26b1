# PowerShell: backtick continuations
Invoke-RestMethod -Method Post `
  -Uri "https://upload.applivery.io/v1/integrations/builds" `
  -Headers @{ Authorization = "Bearer uyGTyMS7mGbJsdVmWKJTq5vz" } `
  -Form @{ build = Get-Item "app.apk" }
