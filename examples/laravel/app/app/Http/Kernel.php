<?php
// No middleware: the example's routes keep no session and set no cookies.

namespace App\Http;

class Kernel extends \Illuminate\Foundation\Http\Kernel
{
}
